//! Process-level setup: a private mount namespace without the hybrid
//! cgroup2 mount, child-subreaper status, orphan reaping and a SIGINT /
//! SIGTERM flag so the bench can clean up instead of dying mid-way.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use crate::error::{io, sys, Result};

/// The cgroup2 mount that makes crun refuse a hybrid host.
pub const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// Whether a path is currently a mount point in this mount namespace.
pub fn is_mount_point(path: &str) -> Result<bool> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(io("read /proc/self/mountinfo"))?;
    Ok(info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|mount_point| mount_point == path))
}

/// Move this process into a new, private mount namespace and unmount the
/// hybrid cgroup2 hierarchy there. The host's mounts are untouched.
///
/// Must run before any thread is spawned.
pub fn enter_private_mount_ns() -> Result<bool> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(sys("unshare(CLONE_NEWNS)"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys("make / rprivate"))?;
    let mut unmounted = false;
    // Mounts may be stacked; peel them all off (bounded, just in case).
    for _ in 0..8 {
        if !is_mount_point(UNIFIED)? {
            break;
        }
        umount2(UNIFIED, MntFlags::MNT_DETACH).map_err(sys(format!("umount {UNIFIED}")))?;
        unmounted = true;
    }
    Ok(unmounted)
}

/// Become a child subreaper so that detached container processes are
/// re-parented to the bench (and reaped by it) rather than to a slow PID 1.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))
}

/// Reap every child that has already exited. Never blocks.
///
/// Only call this while no runtime invocation is being waited for.
pub fn reap_orphans() -> usize {
    let mut reaped = 0;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return reaped,
            Ok(_) => reaped += 1,
            Err(Errno::EINTR) => continue,
            Err(_) => return reaped,
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Record SIGINT/SIGTERM in a flag instead of dying, so cleanup can run.
pub fn install_interrupt_flag() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe, and it does not replace a handler that
        // anything else in this process relies on.
        unsafe { sigaction(signal, &action) }.map_err(sys(format!("sigaction({signal})")))?;
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM has been received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
