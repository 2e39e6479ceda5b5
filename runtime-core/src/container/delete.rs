//! `delete`: stop what is left of the container and remove its state.

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use super::start::pidfd;
use super::{record, Container, StateError, Status};
use crate::{cgroups, hooks, Error};

impl Container {
    /// Delete the container. A running or paused container is refused unless
    /// `force`, which kills it first; a created one is killed.
    pub fn delete(self, force: bool) -> Result<(), Error> {
        let lock = record::lock(&self.dir, self.id())?;
        let status = self.status();
        if !status.can_delete() && !force {
            return Err(StateError::WrongStatus {
                id: self.id().to_owned(),
                op: "delete",
                status,
            }
            .into());
        }
        let state = self.state();
        if status != Status::Stopped {
            self.kill_and_wait()?;
        }
        // What is left in the cgroups (a container without a pid namespace
        // of its own may leave processes behind its init) is killed first.
        cgroups::remove(&self.record.cgroups)?;
        std::fs::remove_dir_all(&self.dir).map_err(|source| StateError::Io {
            path: self.dir.clone(),
            source,
        })?;
        drop(lock);
        let mut state = hooks::HookState::from(&state);
        state.status = Status::Stopped;
        hooks::run_poststop(&self.record.spec, &state);
        Ok(())
    }

    fn kill_and_wait(&self) -> Result<(), Error> {
        let pid = self.record.pid;
        let fd = match pidfd(pid) {
            Ok(fd) => fd,
            Err(_) => return Ok(()), // already gone
        };
        // A paused container is thawed so that SIGKILL is delivered.
        if self.signal_all(Signal::SIGKILL).is_err() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::NONE).map_err(|source| StateError::Sys {
            op: format!("wait for {pid}"),
            source,
        })?;
        // Reap it if it is our child (`run`); ECHILD otherwise.
        let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        Ok(())
    }
}
