//! Filters loaded into the real kernel, in forked children (a filter
//! cannot be removed again). Each child makes raw syscalls only and reports
//! the first failed check as its exit status.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::{Arch, LinuxSeccomp};
use serde_json::json;

use crate::seccomp::{compile, install, send_listener, Program};

fn profile(v: serde_json::Value) -> Program {
    let p: LinuxSeccomp = serde_json::from_value(v).expect("profile");
    compile(&p, Arch::ScmpArchNative).expect("compile")
}

/// The syscall's result, or `-errno`.
pub(super) fn sys(nr: libc::c_long, a0: libc::c_long, a1: libc::c_long) -> i64 {
    // SAFETY: test syscalls with integer or null-terminated static args.
    let rc = unsafe { libc::syscall(nr, a0, a1) };
    if rc < 0 {
        // SAFETY: errno of this thread.
        -i64::from(unsafe { *libc::__errno_location() })
    } else {
        rc
    }
}

/// Run `checks` in a child under `p`; the child's wait status.
pub(super) fn in_child(p: &Program, checks: impl FnOnce(Option<OwnedFd>) -> i32) -> WaitStatus {
    // SAFETY: the child makes only raw syscalls (and, with a listener, one
    // sendmsg) before _exit.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // SAFETY: plain prctl.
            let code = if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                100
            } else {
                match install(p) {
                    Ok(listener) => checks(listener),
                    Err(_) => 101,
                }
            };
            // SAFETY: leaving the forked child without running Rust drops.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
    }
}

#[test]
fn kernel_applies_actions_errno_ret_args_and_enosys() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["gettid", "write", "exit", "exit_group", "rt_sigreturn", "openat"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["no_such_call"], "action": "SCMP_ACT_ALLOW"}
        ]
    }));
    let status = in_child(&p, |_| {
        let root = c"/".as_ptr() as libc::c_long;
        let checks = [
            sys(libc::SYS_getpid, 0, 0) == -1,
            sys(libc::SYS_gettid, 0, 0) > 0,
            sys(libc::SYS_mkdirat, libc::AT_FDCWD as libc::c_long, root) == -13,
            sys(libc::SYS_personality, 0xffff_ffff, 0) >= 0,
            sys(libc::SYS_personality, 8, 0) == -1,
            // Listed nowhere, below the last named syscall: the default.
            sys(libc::SYS_getppid, 0, 0) == -1,
            // Above every named syscall (openat is 257): ENOSYS.
            sys(libc::SYS_openat2, 0, 0) == -38,
            sys(libc::SYS_close_range, 1000, 1000) == -38,
        ];
        checks.iter().position(|ok| !ok).map_or(0, |i| i as i32 + 1)
    });
    assert_eq!(status, WaitStatus::Exited(status.pid().expect("pid"), 0));
}

#[test]
fn kernel_kills_with_kill_process() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }));
    let status = in_child(&p, |_| {
        sys(libc::SYS_getppid, 0, 0);
        0
    });
    assert!(
        matches!(
            status,
            WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGSYS, _)
        ),
        "{status:?}"
    );
}

/// `struct seccomp_notif` and `struct seccomp_notif_resp`.
#[repr(C)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    data: [u8; 64],
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

#[test]
fn notify_sends_listener_and_state_to_the_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.sock");
    let agent = UnixListener::bind(&path).expect("bind");
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert!(p.has_listener());
    // WAIT_KILLABLE_RECV goes to the kernel with a listener, and is left out
    // without one (the kernel takes it only with one).
    let waiting = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(waiting.flags, p.flags | 1 << 5);
    let plain = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    }));
    assert_eq!(plain.flags, 0);
    let state = br#"{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1}"#;
    let agent_side = std::thread::spawn(move || {
        let (conn, _) = agent.accept().expect("accept");
        let mut buf = [0u8; 256];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .expect("recvmsg");
        let mut fd = None;
        for c in msg.cmsgs().expect("cmsgs") {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: SCM_RIGHTS gave this process a new fd.
                fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        let n = msg.bytes;
        let fd = fd.expect("listener fd");
        let mut req = Notif {
            id: 0,
            pid: 0,
            flags: 0,
            data: [0; 64],
        };
        // SAFETY: the listener fd and a struct of the kernel's layout.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, &mut req as *mut Notif) };
        assert_eq!(rc, 0, "NOTIF_RECV");
        let nr = u32::from_ne_bytes([req.data[0], req.data[1], req.data[2], req.data[3]]);
        let mut resp = NotifResp {
            id: req.id,
            val: 4242,
            error: 0,
            flags: 0,
        };
        // SAFETY: as above.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, &mut resp as *mut NotifResp) };
        assert_eq!(rc, 0, "NOTIF_SEND");
        (buf[..n].to_vec(), nr)
    });
    let status = in_child(&p, |listener| {
        let Some(fd) = listener else { return 10 };
        if send_listener(&path, std::os::fd::AsFd::as_fd(&fd), state).is_err() {
            return 11;
        }
        if sys(libc::SYS_getppid, 0, 0) != 4242 {
            return 12;
        }
        0
    });
    let (got_state, nr) = agent_side.join().expect("agent");
    assert_eq!(status, WaitStatus::Exited(status.pid().expect("pid"), 0));
    assert_eq!(got_state, state);
    assert_eq!(i64::from(nr), libc::SYS_getppid);
}
