//! Waiting for the container process, and `run`'s signal forwarding.

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::start::pidfd;
use super::{Container, StateError};
use crate::Error;

/// How a container or exec process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(Signal),
    /// It ended, but it was not this process's child, so its status is unknown.
    Unknown,
}

impl ExitStatus {
    /// The shell's convention, as runc exits: the code, or 128 + signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig as i32,
            ExitStatus::Unknown => 255,
        }
    }
}

/// Wait for `pid`: reap it if it is our child, else wait on a pidfd.
pub(crate) fn wait_pid(pid: i32) -> Result<ExitStatus, StateError> {
    match waitpid(Pid::from_raw(pid), None) {
        Ok(status) => Ok(from_wait(status)),
        Err(nix::Error::ECHILD) => {
            let fd = match pidfd(pid) {
                Ok(fd) => fd,
                Err(_) => return Ok(ExitStatus::Unknown),
            };
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::NONE).map_err(|source| StateError::Sys {
                op: format!("wait for {pid}"),
                source,
            })?;
            Ok(ExitStatus::Unknown)
        }
        Err(source) => Err(StateError::Sys {
            op: format!("waitpid {pid}"),
            source,
        }),
    }
}

fn from_wait(status: WaitStatus) -> ExitStatus {
    match status {
        WaitStatus::Exited(_, code) => ExitStatus::Exited(code),
        WaitStatus::Signaled(_, sig, _) => ExitStatus::Signaled(sig),
        _ => ExitStatus::Unknown,
    }
}

/// The signals `run` and `exec` forward to the container process, plus
/// SIGCHLD, which tells it ended.
pub(crate) fn forwarded_signals() -> SigSet {
    let mut set = SigSet::all();
    for never in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
    ] {
        set.remove(never);
    }
    set
}

/// Block the forwarded signals in the calling thread, so that none is lost
/// between the launch and the wait; returns the previous mask.
pub fn block_forwarded_signals() -> Result<SigSet, Error> {
    forwarded_signals()
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(|source| {
            StateError::Sys {
                op: "block signals".into(),
                source,
            }
            .into()
        })
}

/// With the forwarded signals blocked (see [`block_forwarded_signals`]),
/// forward each to `pid` until it ends, reaping other children on the way.
pub fn forward_signals_until_exit(pid: i32) -> Result<ExitStatus, Error> {
    let set = forwarded_signals();
    let target = Pid::from_raw(pid);
    loop {
        // A child that ended before we got here left SIGCHLD pending.
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => break,
                Ok(status) if status.pid() == Some(target) => return Ok(from_wait(status)),
                Ok(_) => continue,
                Err(source) => {
                    return Err(StateError::Sys {
                        op: "waitpid".into(),
                        source,
                    }
                    .into())
                }
            }
        }
        let sig = set.wait().map_err(|source| StateError::Sys {
            op: "sigwait".into(),
            source,
        })?;
        if sig != Signal::SIGCHLD {
            let _ = kill(target, sig);
        }
    }
}

impl Container {
    /// Wait for the container process to end. Its exit status is known only
    /// when this process created it (it is then our child).
    pub fn wait(&self) -> Result<ExitStatus, Error> {
        Ok(wait_pid(self.record.pid)?)
    }
}
