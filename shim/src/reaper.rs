//! Reaping: one thread waits for every child of the shim and reports the
//! exits of container and exec processes.
//!
//! skiff-core waits for some children itself (the init copy it starts for
//! each launch, hooks, a created container that `delete` kills). A global
//! `waitpid(-1)` running at the same time would steal those. So every
//! skiff-core call that may start or wait for a child holds [`hold`] (a
//! read lock) and the reaper reaps only under the write lock: it never runs
//! during such a call, and a pid is registered with the task table before
//! the call that made it lets the reaper go. SIGCHLD is blocked in every
//! thread ([`block_sigchld`] runs before any thread starts) and read from a
//! signalfd. Lock order: the gate, then the task table.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::state::Tasks;

static GATE: RwLock<()> = RwLock::new(());

/// Keep the reaper away while skiff-core starts or waits for children.
pub fn hold() -> RwLockReadGuard<'static, ()> {
    GATE.read().unwrap_or_else(|e| e.into_inner())
}

fn sigchld() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set
}

/// Block SIGCHLD in the calling thread and so in every thread it starts.
pub fn block_sigchld() -> nix::Result<()> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&sigchld()), None)
}

/// Start the reaper thread; exits go to `tasks`.
pub fn spawn(tasks: Arc<Tasks>) -> std::io::Result<()> {
    let fd =
        SignalFd::with_flags(&sigchld(), SfdFlags::SFD_CLOEXEC).map_err(std::io::Error::from)?;
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            // Any SIGCHLD (or several, merged) means: reap everything.
            if let Err(e) = fd.read_signal() {
                if e != nix::Error::EINTR {
                    log::error!("reaper: read signalfd: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            // Record the exits before a request may look at these processes
            // again (Delete reaps an ended init itself if it finds it unreaped).
            let _gate = GATE.write().unwrap_or_else(|e| e.into_inner());
            let exits = reap_all();
            if !exits.is_empty() {
                tasks.on_exits(exits);
            }
        })
        .map(|_| ())
}

/// Reap every child that has ended: (pid, exit status as containerd wants it).
fn reap_all() -> Vec<(i32, u32)> {
    let mut exits = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => exits.push((pid.as_raw(), code as u32)),
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                exits.push((pid.as_raw(), 128 + sig as i32 as u32))
            }
            Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => break,
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => {
                log::error!("reaper: waitpid: {e}");
                break;
            }
        }
    }
    exits
}
