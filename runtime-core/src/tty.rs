//! Terminals: the container's pty, its master sent over the console socket.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

/// Why the console could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TtyError {
    #[error("bind the pty onto /dev/console: {0}")]
    Console(Box<crate::rootfs::RootfsError>),
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        source: nix::Error,
    },
    #[error("open pty slave {path}: {source}")]
    Slave { path: String, source: nix::Error },
}

fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> TtyError {
    move |source| TtyError::Sys { op, source }
}

/// In C, after pivot_root: make a pty from the container's /dev/ptmx, bind
/// it onto /dev/console when `dev_console` (create, not exec), send
/// its master over `socket` (SCM_RIGHTS, the pty's name as data, as runc
/// does), and make the slave the controlling terminal and stdio.
pub(crate) fn setup_console(
    socket: OwnedFd,
    dev_console: bool,
    size: Option<(u16, u16)>,
) -> Result<(), TtyError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(sys("grantpt"))?;
    unlockpt(&master).map_err(sys("unlockpt"))?;
    let name = ptsname_r(&master).map_err(sys("ptsname"))?;
    // The slave through the master (TIOCGPTPEER), never by its /dev/pts
    // path, which the image may have made a symlink (CVE-2025-52565).
    // SAFETY: TIOCGPTPEER takes open(2) flags as its integer argument and
    // returns a new fd or -1.
    let peer = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if peer < 0 {
        return Err(TtyError::Slave {
            path: name.clone(),
            source: nix::Error::last(),
        });
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let slave = unsafe { OwnedFd::from_raw_fd(peer) };
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize that lives across the call.
        if unsafe {
            libc::ioctl(
                master.as_raw_fd(),
                libc::TIOCSWINSZ,
                &ws as *const libc::winsize,
            )
        } != 0
        {
            return Err(TtyError::Sys {
                op: "set process.consoleSize",
                source: nix::Error::last(),
            });
        }
    }
    if dev_console {
        crate::rootfs::mount_console(&slave).map_err(|e| TtyError::Console(Box::new(e)))?;
    }
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(sys("send pty master to console socket"))?;
    drop(master);
    drop(socket);
    // SAFETY: ioctl(TIOCSCTTY) takes the slave fd and an integer argument.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(TtyError::Sys {
            op: "make pty the controlling terminal",
            source: nix::Error::last(),
        });
    }
    for target in 0..=2 {
        // SAFETY: dup2 onto the stdio fds, which this process owns and means
        // to replace; no Rust object holds them.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(TtyError::Sys {
                op: "dup2 pty slave onto stdio",
                source: nix::Error::last(),
            });
        }
    }
    Ok(())
}
