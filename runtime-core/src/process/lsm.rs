//! Linux security modules: `process.apparmorProfile`, `process.selinuxLabel`
//! and `linux.mountLabel`. A label is applied only when the kernel runs that
//! LSM; asking for one it does not run is an error naming the field, since
//! running without the confinement asked for would be silently weaker.
//!
//! Which LSMs run: `/sys/kernel/security/lsm` (securityfs), else the
//! module's own sysfs files (`/sys/module/apparmor/parameters/enabled`,
//! `/sys/fs/selinux`).

use std::path::Path;

use oci_spec::runtime::{Process, Spec};

use crate::procfs::ProcfsError;

/// A security module skiff can apply labels of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lsm {
    AppArmor,
    SELinux,
}

impl Lsm {
    fn name(self) -> &'static str {
        match self {
            Lsm::AppArmor => "apparmor",
            Lsm::SELinux => "selinux",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Lsm::AppArmor => "AppArmor",
            Lsm::SELinux => "SELinux",
        }
    }
}

/// Why a label cannot be used or applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LsmError {
    /// The field asks for an LSM the kernel does not run.
    #[error("{field}: {lsm} is not enabled in this kernel (active LSMs: {active})")]
    NotEnabled {
        field: &'static str,
        lsm: &'static str,
        active: String,
    },
    /// The kernel has no AppArmor profile of that name loaded.
    #[error(
        "{field} {label:?}: AppArmor has no profile of that name loaded (see \
         /sys/kernel/security/apparmor/profiles; apparmor_parser loads one)"
    )]
    ProfileNotLoaded { field: &'static str, label: String },
    /// The loaded SELinux policy does not define that context.
    #[error(
        "{field} {label:?}: not a valid SELinux context in the loaded policy (user:role:type, \
         and a level when the policy is MLS; see /sys/fs/selinux)"
    )]
    InvalidContext { field: &'static str, label: String },
    /// Writing the exec label failed.
    #[error("{field} {label:?}: {source}")]
    Apply {
        field: &'static str,
        label: String,
        source: ProcfsError,
    },
}

impl LsmError {
    /// The spec field at fault.
    pub(crate) fn field(&self) -> &'static str {
        match self {
            LsmError::NotEnabled { field, .. }
            | LsmError::ProfileNotLoaded { field, .. }
            | LsmError::InvalidContext { field, .. }
            | LsmError::Apply { field, .. } => field,
        }
    }
}

/// What the kernel says about its LSMs: the securityfs list, if readable.
fn active_list() -> Option<Vec<String>> {
    let text = std::fs::read_to_string("/sys/kernel/security/lsm").ok()?;
    Some(
        text.trim()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Whether the kernel runs `lsm`.
pub(crate) fn enabled(lsm: Lsm) -> bool {
    if let Some(list) = active_list() {
        return list.iter().any(|l| l == lsm.name());
    }
    match lsm {
        Lsm::AppArmor => std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|v| v.trim() == "Y"),
        Lsm::SELinux => Path::new("/sys/fs/selinux/enforce").exists(),
    }
}

fn active_description() -> String {
    match active_list() {
        Some(list) if !list.is_empty() => list.join(","),
        Some(_) => "none".into(),
        None => "/sys/kernel/security/lsm is not readable; no apparmor or selinux in /sys".into(),
    }
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// The labels of `p` and `spec` that the kernel can apply; an error for the
/// first one it cannot, naming its field. `enabled` says which LSMs run.
pub(crate) fn check_with(
    p: &Process,
    spec: Option<&Spec>,
    enabled: impl Fn(Lsm) -> bool,
) -> Result<(), LsmError> {
    let mount_label = spec
        .and_then(|s| s.linux().as_ref())
        .and_then(|l| set(l.mount_label()));
    let wanted = [
        (
            "process.apparmorProfile",
            Lsm::AppArmor,
            set(p.apparmor_profile()).is_some(),
        ),
        (
            "process.selinuxLabel",
            Lsm::SELinux,
            set(p.selinux_label()).is_some(),
        ),
        ("linux.mountLabel", Lsm::SELinux, mount_label.is_some()),
    ];
    for (field, lsm, asked) in wanted {
        if asked && !enabled(lsm) {
            return Err(LsmError::NotEnabled {
                field,
                lsm: lsm.title(),
                active: active_description(),
            });
        }
    }
    Ok(())
}

/// [`check_with`] against the running kernel.
pub(crate) fn check(p: &Process, spec: Option<&Spec>) -> Result<(), LsmError> {
    check_with(p, spec, enabled)
}

/// Write AppArmor's exec attr: `attr/apparmor/exec` (a directory per LSM
/// since Linux 5.1), or the shared `attr/exec` of a kernel without it.
fn write_apparmor_exec(text: &[u8]) -> Result<(), ProcfsError> {
    match crate::procfs::write(Path::new("self/attr/apparmor/exec"), text) {
        Err(ProcfsError::Resolve {
            source: nix::Error::ENOENT,
            ..
        }) => crate::procfs::write(Path::new("self/attr/exec"), text),
        r => r,
    }
}

/// The error of writing `exec PROFILE`: AppArmor fails the write with
/// ENOENT when it has no profile of that name.
fn apparmor_error(profile: &str, source: ProcfsError) -> LsmError {
    let field = "process.apparmorProfile";
    let label = profile.to_owned();
    match source {
        ProcfsError::Write {
            source: nix::Error::ENOENT,
            ..
        } => LsmError::ProfileNotLoaded { field, label },
        source => LsmError::Apply {
            field,
            label,
            source,
        },
    }
}

/// The error of writing an SELinux exec context: SELinux fails the write
/// with EINVAL when its policy does not define the context.
fn selinux_error(label: &str, source: ProcfsError) -> LsmError {
    let field = "process.selinuxLabel";
    let label = label.to_owned();
    match source {
        ProcfsError::Write {
            source: nix::Error::EINVAL,
            ..
        } => LsmError::InvalidContext { field, label },
        source => LsmError::Apply {
            field,
            label,
            source,
        },
    }
}

/// In C, just before the identity changes and execve: set the exec labels
/// (the next execve enters them), through the runtime's own procfs.
pub(crate) fn apply_exec_labels(p: &Process) -> Result<(), LsmError> {
    if let Some(profile) = set(p.apparmor_profile()) {
        write_apparmor_exec(format!("exec {profile}").as_bytes())
            .map_err(|source| apparmor_error(profile, source))?;
    }
    if let Some(label) = set(p.selinux_label()) {
        crate::procfs::write(Path::new("self/attr/exec"), label.as_bytes())
            .map_err(|source| selinux_error(label, source))?;
    }
    Ok(())
}

/// Whether a new mount of `fstype` takes `linux.mountLabel` as its
/// `context=`: not proc, sysfs and mqueue, as in runc. mqueue refuses the
/// option (EINVAL); sysfs and mqueue in the host's network or IPC namespace
/// are the host's own superblock, which SELinux will not mount again with
/// another context (EBUSY); proc's files keep the policy's labels. (Binds and
/// cgroup mounts never take it.)
fn takes_mount_label(fstype: &str) -> bool {
    !matches!(fstype, "proc" | "sysfs" | "mqueue")
}

/// The data of a new mount of `fstype` with `linux.mountLabel` added as
/// SELinux's `context=` option where the file system takes it, as runc does.
pub(crate) fn mount_data(fstype: &str, data: &str, label: Option<&str>) -> String {
    match label.filter(|l| !l.is_empty() && takes_mount_label(fstype)) {
        None => data.to_owned(),
        Some(l) if data.is_empty() => format!("context=\"{l}\""),
        Some(l) => format!("{data},context=\"{l}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).expect("process")
    }

    #[test]
    fn refuses_what_the_kernel_does_not_run() {
        let none = |_| false;
        let all = |_| true;
        let cases = [
            (r#""apparmorProfile":"p""#, "process.apparmorProfile"),
            (r#""selinuxLabel":"l""#, "process.selinuxLabel"),
        ];
        for (field_json, field) in cases {
            let p = process(&format!(
                r#"{{"cwd":"/","user":{{"uid":0,"gid":0}},{field_json}}}"#
            ));
            let e = check_with(&p, None, none).expect_err(field);
            assert_eq!(e.field(), field);
            assert!(e.to_string().starts_with(field), "{e}");
            assert!(e.to_string().contains("not enabled"), "{e}");
            check_with(&p, None, all).expect("applied when enabled");
        }
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","linux":{"mountLabel":"system_u:object_r:container_file_t:s0"}}"#,
        )
        .expect("spec");
        let p = process(r#"{"cwd":"/","user":{"uid":0,"gid":0}}"#);
        let e = check_with(&p, Some(&spec), none).expect_err("mountLabel");
        assert_eq!(e.field(), "linux.mountLabel");
        check_with(&p, Some(&spec), |l| l == Lsm::SELinux).expect("selinux runs");
        let empty = process(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"","selinuxLabel":""}"#,
        );
        check_with(&empty, None, none).expect("empty is unset");
    }

    #[test]
    fn this_kernel_matches_its_sysfs() {
        // The machine's answer must agree with the files it is read from.
        let aa = enabled(Lsm::AppArmor);
        let from_files = match active_list() {
            Some(l) => l.iter().any(|x| x == "apparmor"),
            None => Path::new("/sys/module/apparmor").exists(),
        };
        assert!(!aa || from_files);
    }

    #[test]
    fn unknown_apparmor_profile_is_named() {
        let write = |source| ProcfsError::Write {
            path: "self/attr/apparmor/exec".into(),
            source,
        };
        let e = apparmor_error("no-such", write(nix::Error::ENOENT));
        assert!(matches!(e, LsmError::ProfileNotLoaded { .. }), "{e:?}");
        assert_eq!(e.field(), "process.apparmorProfile");
        let text = e.to_string();
        assert!(
            text.starts_with("process.apparmorProfile \"no-such\": AppArmor has no profile"),
            "{text}"
        );
        // Other failures keep the write's own error.
        let e = apparmor_error("p", write(nix::Error::EACCES));
        assert!(matches!(e, LsmError::Apply { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("write /proc/self/attr/apparmor/exec"),
            "{e}"
        );
    }

    #[test]
    fn invalid_selinux_context_is_named() {
        let write = |source| ProcfsError::Write {
            path: "self/attr/exec".into(),
            source,
        };
        let label = "system_u:system_r:no_such_t:s0";
        let e = selinux_error(label, write(nix::Error::EINVAL));
        assert!(matches!(e, LsmError::InvalidContext { .. }), "{e:?}");
        assert_eq!(e.field(), "process.selinuxLabel");
        let text = e.to_string();
        assert!(
            text.starts_with(
                "process.selinuxLabel \"system_u:system_r:no_such_t:s0\": not a valid SELinux context"
            ),
            "{text}"
        );
        let e = selinux_error(label, write(nix::Error::EACCES));
        assert!(matches!(e, LsmError::Apply { .. }), "{e:?}");
        assert!(e.to_string().contains("write /proc/self/attr/exec"), "{e}");
    }

    #[test]
    fn mount_label_option() {
        assert_eq!(mount_data("tmpfs", "", None), "");
        assert_eq!(mount_data("tmpfs", "mode=755", Some("")), "mode=755");
        assert_eq!(
            mount_data("tmpfs", "", Some("l:s0:c1,c2")),
            "context=\"l:s0:c1,c2\""
        );
        assert_eq!(
            mount_data("devpts", "mode=620", Some("l")),
            "mode=620,context=\"l\""
        );
        // Found in the v2 lane's SELinux boot: mqueue fails the mount with EINVAL.
        for fstype in ["proc", "sysfs", "mqueue"] {
            assert_eq!(
                mount_data(fstype, "nosuid", Some("l")),
                "nosuid",
                "{fstype}"
            );
        }
    }
}
