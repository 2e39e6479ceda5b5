//! The containers-common default profile (Debian golang-github-containers-
//! common, /usr/share/containers/seccomp.json), converted to the OCI form
//! as podman does for an x86_64 host with podman's default capabilities.

use oci_spec::runtime::{Arch, LinuxSeccomp};
use serde_json::{json, Value};

use super::differential::{check, Rng};
use super::kernel::{in_child, sys};
use crate::seccomp::compile;

const PROFILE: &str = "/usr/share/containers/seccomp.json";

/// podman's default_capabilities (containers.conf).
const CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

fn kernel_at_least(min: &str) -> bool {
    let uts = nix::sys::utsname::uname().expect("uname");
    let parse = |s: &str| -> Vec<u32> {
        s.split(['.', '-'])
            .take(2)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(&uts.release().to_string_lossy()) >= parse(min)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// containers/common's conversion: keep the x86_64 archMap entry, and the
/// syscall groups whose includes/excludes fit amd64, CAPS and this kernel.
pub(super) fn containers_common() -> Option<Value> {
    let text = std::fs::read_to_string(PROFILE).ok()?;
    let src: Value = serde_json::from_str(&text).expect("seccomp.json");
    let mut archs = Vec::new();
    for m in src["archMap"].as_array().into_iter().flatten() {
        if m["architecture"] == "SCMP_ARCH_X86_64" {
            archs.push(m["architecture"].clone());
            archs.extend(
                m["subArchitectures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    let mut syscalls = Vec::new();
    for s in src["syscalls"].as_array().into_iter().flatten() {
        let (inc, exc) = (&s["includes"], &s["excludes"]);
        let inc_arches = strings(inc, "arches");
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == "amd64") {
            continue;
        }
        if !strings(inc, "caps")
            .iter()
            .all(|c| CAPS.contains(&c.as_str()))
        {
            continue;
        }
        if inc
            .get("minKernel")
            .and_then(Value::as_str)
            .is_some_and(|k| !kernel_at_least(k))
        {
            continue;
        }
        if strings(exc, "arches").iter().any(|a| a == "amd64")
            || strings(exc, "caps")
                .iter()
                .any(|c| CAPS.contains(&c.as_str()))
        {
            continue;
        }
        let mut rule = json!({"names": s["names"], "action": s["action"]});
        if let Some(args) = s
            .get("args")
            .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
        {
            rule["args"] = args.clone();
        }
        if let Some(e) = s.get("errnoRet") {
            rule["errnoRet"] = e.clone();
        }
        syscalls.push(rule);
    }
    Some(json!({
        "defaultAction": src["defaultAction"],
        "defaultErrnoRet": src["defaultErrnoRet"],
        "architectures": archs,
        "syscalls": syscalls,
    }))
}

#[test]
fn containers_common_profile_matches_libseccomp() {
    let Some(p) = containers_common() else {
        eprintln!("skipped: {PROFILE} missing (apt-get install golang-github-containers-common)");
        return;
    };
    let tried = check(&p, &mut Rng::new(42));
    assert!(tried > 10_000);
}

#[test]
fn containers_common_profile_denies_in_the_kernel() {
    let Some(p) = containers_common() else { return };
    let p: LinuxSeccomp = serde_json::from_value(p).expect("profile");
    let prog = compile(&p, Arch::ScmpArchNative).expect("compile");
    let status = in_child(&prog, |_| {
        let checks = [
            sys(libc::SYS_getpid, 0, 0) > 0,
            // personality: only the listed personas.
            sys(libc::SYS_personality, 0xffff_ffff, 0) >= 0,
            sys(libc::SYS_personality, 0x0040_0000, 0) == -38,
            // socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT): EINVAL without
            // CAP_AUDIT_WRITE; other sockets are fine.
            sys3(libc::SYS_socket, 16, 3, 9) == -22,
            sys3(libc::SYS_socket, 1, 1, 0) >= 0,
            // Listed with errnoRet 1.
            sys(libc::SYS_kexec_file_load, 0, 0) == -1,
            sys(libc::SYS_open_by_handle_at, -1, 0) == -1,
            // Not listed: the default, ENOSYS.
            sys(libc::SYS_add_key, 0, 0) == -38,
        ];
        checks.iter().position(|ok| !ok).map_or(0, |i| i as i32 + 1)
    });
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(status.pid().expect("pid"), 0)
    );
}

fn sys3(nr: libc::c_long, a0: libc::c_long, a1: libc::c_long, a2: libc::c_long) -> i64 {
    // SAFETY: integer arguments only.
    let rc = unsafe { libc::syscall(nr, a0, a1, a2) };
    if rc < 0 {
        // SAFETY: errno of this thread.
        -i64::from(unsafe { *libc::__errno_location() })
    } else {
        rc
    }
}
