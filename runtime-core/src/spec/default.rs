//! The default config.json written by `skiff spec`: runc's, value for value.
//!
//! The one deliberate difference is the hostname: `skiff` where runc writes
//! `runc` (crun writes `crun`, youki `youki`: each runtime names itself).
//! Everything else (mounts, masked and readonly paths, capabilities, rlimits,
//! namespaces, the device cgroup rule) is what runc 1.1 writes, so a bundle
//! made by either runtime runs the same under both.

use std::collections::HashSet;

use oci_spec::runtime::{
    Capability, LinuxCapabilities, LinuxDeviceCgroup, LinuxIdMapping, LinuxIdMappingBuilder,
    LinuxNamespace, LinuxNamespaceType, LinuxResources, Mount, PosixRlimitBuilder, PosixRlimitType,
    Process, Root, Spec, User,
};

/// The hostname of the default spec.
const HOSTNAME: &str = "skiff";

/// runc's default mounts: destination, type, source, options.
const MOUNTS: &[(&str, &str, &str, &[&str])] = &[
    ("/proc", "proc", "proc", &[]),
    (
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    ),
    (
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    ),
    (
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    ),
    (
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["nosuid", "noexec", "nodev", "relatime", "ro"],
    ),
];

const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

const CAPABILITIES: &[Capability] = &[
    Capability::AuditWrite,
    Capability::Kill,
    Capability::NetBindService,
];

const NAMESPACES: &[LinuxNamespaceType] = &[
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Mount,
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into());
    m.set_typ(Some(typ.to_owned()));
    m.set_source(Some(source.into()));
    m.set_options((!options.is_empty()).then(|| strings(options)));
    m
}

fn namespace(typ: LinuxNamespaceType) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(None);
    ns
}

fn process() -> Process {
    let caps: HashSet<Capability> = CAPABILITIES.iter().copied().collect();
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(caps.clone()));
    capabilities.set_effective(Some(caps.clone()));
    capabilities.set_permitted(Some(caps.clone()));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(Some(caps));
    let mut user = User::default();
    user.set_uid(0);
    user.set_gid(0);
    user.set_umask(None);
    user.set_additional_gids(None);
    // These builders default every field: build() cannot fail.
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(1024u64)
        .hard(1024u64)
        .build()
        .unwrap_or_default();
    let mut p = Process::default();
    p.set_terminal(Some(true));
    p.set_console_size(None);
    p.set_user(user);
    p.set_args(Some(vec!["sh".to_owned()]));
    p.set_env(Some(strings(&[
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
    ])));
    p.set_cwd("/".into());
    p.set_capabilities(Some(capabilities));
    p.set_rlimits(Some(vec![nofile]));
    p.set_no_new_privileges(Some(true));
    p.set_apparmor_profile(None);
    p.set_selinux_label(None);
    p.set_oom_score_adj(None);
    p
}

/// A spec like `runc spec` writes: `sh` on a terminal in the rootfs at
/// `rootfs` (read-only), with runc's default mounts, masked and readonly
/// paths, capabilities, `RLIMIT_NOFILE` 1024, no_new_privs, new pid, network,
/// ipc, uts and mount namespaces, and a device cgroup that denies everything
/// (the rootfs's devices are created, not allowed through the cgroup). The
/// hostname is `skiff`.
pub fn default_spec() -> Spec {
    let mut root = Root::default();
    root.set_path("rootfs".into());
    root.set_readonly(Some(true));
    let mut deny_all = LinuxDeviceCgroup::default();
    deny_all.set_allow(false);
    deny_all.set_access(Some("rwm".to_owned()));
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(vec![deny_all]));
    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(None);
    linux.set_resources(Some(resources));
    linux.set_namespaces(Some(NAMESPACES.iter().map(|t| namespace(*t)).collect()));
    linux.set_devices(None);
    linux.set_masked_paths(Some(strings(MASKED_PATHS)));
    linux.set_readonly_paths(Some(strings(READONLY_PATHS)));
    let mut spec = Spec::default();
    spec.set_version("1.0.2-dev".to_owned());
    spec.set_process(Some(process()));
    spec.set_root(Some(root));
    spec.set_hostname(Some(HOSTNAME.to_owned()));
    spec.set_domainname(None);
    spec.set_mounts(Some(
        MOUNTS
            .iter()
            .map(|(d, t, s, o)| mount(d, t, s, o))
            .collect(),
    ));
    spec.set_annotations(None);
    spec.set_linux(Some(linux));
    spec.set_hooks(None);
    spec
}

/// A spec like `runc spec --rootless` writes, for a caller whose effective
/// uid and gid are `uid` and `gid`: [`default_spec`] with a user namespace
/// that maps container root to the caller, no network namespace (a rootless
/// caller cannot configure one), `/sys` bind-mounted from the host (sysfs
/// cannot be mounted without a network namespace of one's own), no `uid=` or
/// `gid=` mount options (those ids are not mapped), and no cgroup resources
/// (a rootless caller usually cannot write them).
pub fn default_spec_rootless(uid: u32, gid: u32) -> Spec {
    let mut spec = default_spec();
    to_rootless(&mut spec, uid, gid);
    spec
}

fn id_mapping(host: u32) -> LinuxIdMapping {
    // The builder defaults every field: build() cannot fail.
    LinuxIdMappingBuilder::default()
        .container_id(0u32)
        .host_id(host)
        .size(1u32)
        .build()
        .unwrap_or_default()
}

/// runc's `specconv.ToRootless`, on any spec.
fn to_rootless(spec: &mut Spec, uid: u32, gid: u32) {
    if let Some(mounts) = spec.mounts_mut() {
        for m in mounts.iter_mut() {
            if m.destination()
                .components()
                .eq(std::path::Path::new("/sys").components())
            {
                *m = mount(
                    "/sys",
                    "none",
                    "/sys",
                    &["rbind", "nosuid", "noexec", "nodev", "ro"],
                );
                continue;
            }
            let kept: Option<Vec<String>> = m.options().as_ref().map(|o| {
                o.iter()
                    .filter(|o| !o.starts_with("uid=") && !o.starts_with("gid="))
                    .cloned()
                    .collect()
            });
            m.set_options(kept);
        }
    }
    let linux = spec.linux_mut().get_or_insert_with(Default::default);
    let mut namespaces: Vec<LinuxNamespace> = linux
        .namespaces()
        .iter()
        .flatten()
        .filter(|ns| {
            !matches!(
                ns.typ(),
                LinuxNamespaceType::Network | LinuxNamespaceType::User
            )
        })
        .cloned()
        .collect();
    namespaces.push(namespace(LinuxNamespaceType::User));
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(vec![id_mapping(uid)]));
    linux.set_gid_mappings(Some(vec![id_mapping(gid)]));
    linux.set_resources(None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// `runc spec` (runc 1.1.5), verbatim but for the hostname.
    const RUNC_SPEC: &str = include_str!("testdata/runc-spec.json");
    /// `runc spec --rootless` run as root (runc 1.1.5), verbatim but for the hostname.
    const RUNC_SPEC_ROOTLESS: &str = include_str!("testdata/runc-spec-rootless.json");

    fn check(ours: &Spec, runc: &str) {
        let theirs: Value = serde_json::from_str(runc).expect("fixture is JSON");
        let ours_json = serde_json::to_value(ours).expect("serialize");
        // Capability sets are sets: compare as specs, then the exact JSON
        // shape (no extra or missing keys) with the sets sorted.
        let theirs_spec: Spec = serde_json::from_value(theirs.clone()).expect("fixture is a spec");
        assert_eq!(ours, &theirs_spec);
        assert_eq!(sorted(ours_json), sorted(theirs));
    }

    fn sorted(v: Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.into_iter().map(sorted).collect();
                if items.iter().all(Value::is_string) {
                    items.sort_by_key(|s| s.to_string());
                }
                Value::Array(items)
            }
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            other => other,
        }
    }

    #[test]
    fn default_spec_is_runcs() {
        let spec = default_spec();
        assert_eq!(spec.hostname().as_deref(), Some("skiff"));
        check(&spec, RUNC_SPEC);
    }

    #[test]
    fn rootless_spec_is_runcs() {
        check(&default_spec_rootless(0, 0), RUNC_SPEC_ROOTLESS);
        let spec = default_spec_rootless(1000, 100);
        let linux = spec.linux().as_ref().expect("linux");
        assert_eq!(
            linux.uid_mappings().as_ref().expect("uid maps")[0].host_id(),
            1000
        );
        assert_eq!(
            linux.gid_mappings().as_ref().expect("gid maps")[0].host_id(),
            100
        );
    }
}
