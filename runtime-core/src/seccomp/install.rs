//! Loading a compiled [`Program`], and handing its NOTIFY listener to the
//! agent at `listenerPath`.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};

use super::compile::flag;
use super::{Program, SeccompError};

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`. Allocates nothing.
/// Without no_new_privs the caller needs CAP_SYS_ADMIN in its user
/// namespace. Returns the listener fd when the program has NOTIFY rules.
pub(crate) fn install(p: &Program) -> Result<Option<OwnedFd>, SeccompError> {
    let len = u16::try_from(p.filter.len()).map_err(|_| SeccompError::TooLong(p.filter.len()))?;
    let prog = libc::sock_fprog {
        len,
        filter: p.filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `p.filter`, `len` instructions long and alive
    // for the call; the kernel copies the program and does not write to it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(p.flags),
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(SeccompError::Install(std::io::Error::last_os_error()));
    }
    if p.has_listener() {
        let fd = RawFd::try_from(rc).map_err(|_| SeccompError::Tsync(rc))?;
        // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER a non-negative result
        // is a new fd that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if rc > 0 && p.flags & flag::TSYNC != 0 {
        return Err(SeccompError::Tsync(rc));
    }
    Ok(None)
}

/// Send the listener fd (SCM_RIGHTS) with `state`, the container's
/// `ContainerProcessState` JSON (`fds: ["seccompFd"]`), to the agent
/// listening on the unix socket `path`.
#[cfg(test)]
pub(crate) fn send_listener(
    path: &Path,
    listener: BorrowedFd<'_>,
    state: &[u8],
) -> Result<(), SeccompError> {
    let sock = connect_agent(path)?;
    send_listener_on(&sock, path, listener, state)
}

/// Connect to the seccomp agent's unix socket at `path` (`listenerPath`).
pub(crate) fn connect_agent(path: &Path) -> Result<OwnedFd, SeccompError> {
    let connect_err = |source| SeccompError::ListenerConnect {
        path: path.display().to_string(),
        source,
    };
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(connect_err)?;
    let addr = UnixAddr::new(path).map_err(connect_err)?;
    connect(sock.as_raw_fd(), &addr).map_err(connect_err)?;
    Ok(sock)
}

/// [`send_listener`] over a socket already connected to the agent at `path`
/// (the container process connects before pivot_root, while `path` is
/// reachable, and sends once the filter is installed).
pub(crate) fn send_listener_on(
    sock: &OwnedFd,
    path: &Path,
    listener: BorrowedFd<'_>,
    state: &[u8],
) -> Result<(), SeccompError> {
    let name = || path.display().to_string();
    let send_err = |source| SeccompError::ListenerSend {
        path: name(),
        source,
    };
    let fds = [listener.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let mut sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(state)],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map_err(send_err)?;
    while sent < state.len() {
        let rest = [IoSlice::new(&state[sent..])];
        sent += sendmsg::<()>(sock.as_raw_fd(), &rest, &[], MsgFlags::empty(), None)
            .map_err(send_err)?;
    }
    Ok(())
}
