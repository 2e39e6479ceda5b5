//! Terminals: the console socket (as containerd listens on it) and reading a pty master.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::*;

/// A unix socket the runtime sends the pty master to (`--console-socket`), received with
/// SCM_RIGHTS the way containerd's console socket does.
#[derive(Debug)]
pub struct ConsoleSocket {
    dir: tempfile::TempDir,
    listener: std::os::unix::net::UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("skiff-conf-console-")
            .tempdir_in(temp_base())
            .map_err(|e| Error::io("creating the console socket dir", e))?;
        let listener = std::os::unix::net::UnixListener::bind(dir.path().join("console.sock"))
            .map_err(|e| Error::io("binding the console socket", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("console socket non-blocking", e))?;
        Ok(ConsoleSocket { dir, listener })
    }

    /// The path to pass as `--console-socket`.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("console.sock")
    }

    /// Waits (at most `timeout`) for one connection and returns the fd it carries.
    pub fn receive(&self, timeout: Duration) -> Result<OwnedFd> {
        let start = Instant::now();
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if start.elapsed() > timeout {
                        return Err(Error::io("no connection on the console socket", e));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::io("accept on the console socket", e)),
            }
        };
        stream
            .set_nonblocking(false)
            .map_err(|e| Error::io("console stream blocking", e))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| Error::io("console stream timeout", e))?;
        let mut buf = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| Error::io("recvmsg on the console socket", e.into()))?;
        let cmsgs = msg
            .cmsgs()
            .map_err(|e| Error::io("control messages of the console socket", e.into()))?;
        for cmsg in cmsgs {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(&fd) = fds.first() {
                    // SAFETY: the kernel just installed this descriptor in our table for
                    // this message; nothing else owns it.
                    return Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
                }
            }
        }
        Err(Error::io(
            "console socket message without SCM_RIGHTS",
            std::io::Error::from(std::io::ErrorKind::InvalidData),
        ))
    }
}

/// Reads a pty master (or any fd) until EOF/EIO (the slave side was closed), `until`
/// appears in the text read so far, or `timeout` passes. Returns what was read.
pub fn read_fd_until(fd: &OwnedFd, until: Option<&str>, timeout: Duration) -> String {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis().min(100)).unwrap_or(100);
        // SAFETY: poll on one valid pollfd that lives across the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if r == 0 {
            continue;
        }
        // SAFETY: read into a stack buffer of the given length from a valid fd.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(buf.get(..n.unsigned_abs()).unwrap_or_default());
        if let Some(u) = until {
            if String::from_utf8_lossy(&out).contains(u) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
