//! The standard streams of a launched process.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Command;

/// The stdin, stdout and stderr a container or exec process gets. A stream
/// left `None` is inherited from the caller (the CLI's behaviour); a program
/// that runs several containers at once, such as a containerd shim, gives
/// each its own (a FIFO, a pipe or a file). The fds are duplicated into the
/// process; the caller keeps and closes its own.
#[derive(Debug, Default)]
pub struct Stdio {
    /// The process's fd 0.
    pub stdin: Option<OwnedFd>,
    /// The process's fd 1.
    pub stdout: Option<OwnedFd>,
    /// The process's fd 2.
    pub stderr: Option<OwnedFd>,
}

impl Stdio {
    /// The raw fds, for the launch plan; valid while `self` lives.
    pub(crate) fn raw(&self) -> [Option<RawFd>; 3] {
        [&self.stdin, &self.stdout, &self.stderr].map(|fd| fd.as_ref().map(|fd| fd.as_raw_fd()))
    }
}

/// Give `cmd` the streams of `fds` (from [`Stdio::raw`]) that are set.
pub(crate) fn apply(cmd: &mut Command, fds: [Option<RawFd>; 3]) -> std::io::Result<()> {
    let owned = |fd: Option<RawFd>| -> std::io::Result<Option<std::process::Stdio>> {
        fd.map(|fd| {
            // SAFETY: the fd belongs to the `Stdio` of the builder or exec
            // options, which outlive the launch; it is only duplicated here.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            fd.try_clone_to_owned().map(std::process::Stdio::from)
        })
        .transpose()
    };
    if let Some(s) = owned(fds[0])? {
        cmd.stdin(s);
    }
    if let Some(s) = owned(fds[1])? {
        cmd.stdout(s);
    }
    if let Some(s) = owned(fds[2])? {
        cmd.stderr(s);
    }
    Ok(())
}
