//! The containers-common default profile (`containers_common`), compiled by
//! skiff: against libseccomp, and loaded into the kernel.

use std::path::Path;

use oci_spec::runtime::{Arch, LinuxSeccomp};
use serde_json::Value;

use super::differential::{check, Rng};
use super::kernel::{in_child, sys};
use crate::seccomp::compile;
use crate::seccomp::containers_common::{load, PATH as PROFILE};

/// The converted profile, or None when the host does not have it.
fn containers_common() -> Option<Value> {
    if !Path::new(PROFILE).exists() {
        eprintln!("skipped: {PROFILE} missing (apt-get install golang-github-containers-common)");
        return None;
    }
    Some(load(Path::new(PROFILE)).expect("containers-common profile"))
}

#[test]
fn containers_common_profile_matches_libseccomp() {
    let Some(p) = containers_common() else { return };
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
