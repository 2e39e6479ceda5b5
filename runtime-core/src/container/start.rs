//! `start`: release the created container process to exec the user program.

use std::io::Read;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

use super::{record, Container, StateError, Status};
use crate::{hooks, Error};

/// A pidfd for `pid`, to wait on a process that need not be our child.
pub(crate) fn pidfd(pid: i32) -> Result<OwnedFd, StateError> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(StateError::Sys {
            op: format!("pidfd_open {pid}"),
            source: nix::Error::last(),
        });
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl Container {
    /// Start a created container: the user program is executed.
    pub fn start(&mut self) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        self.require(Status::can_start, "start")?;
        let fifo_path = self.dir.join(record::FIFO);
        let sys = |op: &str| {
            let op = format!("{op} {}", fifo_path.display());
            move |source| StateError::Sys { op, source }
        };
        // The pidfd first: opening the fifo releases the container, which
        // may exit and be reaped by its parent before a later pidfd_open.
        let proc_fd = pidfd(self.record.pid)?;
        let fifo = open(
            &fifo_path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys("open"))?;
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(proc_fd.as_fd(), PollFlags::POLLIN),
        ];
        poll(&mut fds, PollTimeout::NONE).map_err(sys("poll"))?;
        let fifo_ready = fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLIN));
        let mut byte = [0u8; 1];
        let got = if fifo_ready {
            std::fs::File::from(fifo).read(&mut byte).unwrap_or(0)
        } else {
            0
        };
        if got != 1 {
            return Err(StateError::WrongStatus {
                id: self.id().to_owned(),
                op: "start",
                status: Status::Stopped,
            }
            .into());
        }
        let _ = std::fs::remove_file(&fifo_path);
        let state = self.state();
        hooks::run_poststart(&self.record.spec, &hooks::HookState::from(&state));
        Ok(())
    }
}
