//! Loading a compiled [`Program`], and handing its NOTIFY listener to the
//! agent at `listenerPath`.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};

use super::compile::flag;
use super::{Program, SeccompError};

/// Whether the running kernel knows the filter flag `bit`: it checks the
/// flags before it reads the program, so a null program gets `EFAULT` for a
/// known flag and `EINVAL` for an unknown one. Nothing is installed.
pub(super) fn kernel_takes_flag(bit: u32) -> bool {
    // SAFETY: the null program pointer is never dereferenced by this
    // process; the kernel rejects it with EFAULT (or the flag with EINVAL)
    // and installs nothing.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(bit),
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

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
/// reachable, and sends once the filter is installed). The fd goes with
/// the first `sendmsg`, the rest of `state` (if any) with further ones.
///
/// Runs right after the filter is loaded, so it makes no syscall but
/// `sendmsg` (which a NOTIFY rule may therefore not hold, see `compile`)
/// and allocates nothing on success.
pub(crate) fn send_listener_on(
    sock: &OwnedFd,
    path: &Path,
    listener: BorrowedFd<'_>,
    state: &[u8],
) -> Result<(), SeccompError> {
    let send_err = |errno: nix::errno::Errno| SeccompError::ListenerSend {
        path: path.display().to_string(),
        source: errno,
    };
    /// Room for one `cmsghdr` with one fd, aligned as `cmsghdr`.
    #[repr(C)]
    union CmsgBuf {
        hdr: libc::cmsghdr,
        bytes: [u8; 64],
    }
    let fd: RawFd = listener.as_raw_fd();
    let mut buf = CmsgBuf { bytes: [0; 64] };
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
    let (space, len) = unsafe {
        (
            libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize,
            libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize,
        )
    };
    let mut sent = 0;
    let mut first = true;
    while sent < state.len() || first {
        let rest = &state[sent..];
        let mut iov = libc::iovec {
            iov_base: rest.as_ptr().cast_mut().cast(),
            iov_len: rest.len(),
        };
        // SAFETY: an all-zero msghdr is valid (no name, no control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if first {
            msg.msg_control = std::ptr::addr_of_mut!(buf).cast();
            msg.msg_controllen = space;
            // SAFETY: `buf` is 64 bytes aligned as cmsghdr, more than
            // CMSG_SPACE(4); CMSG_FIRSTHDR of it is its start, and CMSG_DATA
            // of that header has room for one fd.
            unsafe {
                let hdr = libc::CMSG_FIRSTHDR(&msg);
                (*hdr).cmsg_level = libc::SOL_SOCKET;
                (*hdr).cmsg_type = libc::SCM_RIGHTS;
                (*hdr).cmsg_len = len;
                std::ptr::write_unaligned(libc::CMSG_DATA(hdr).cast::<RawFd>(), fd);
            }
        }
        // SAFETY: `msg` points at `iov` (into `state`) and `buf`, both alive
        // for the call; sendmsg only reads them.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let errno = nix::errno::Errno::last();
            if errno == nix::errno::Errno::EINTR {
                continue;
            }
            return Err(send_err(errno));
        }
        first = false;
        sent += n as usize;
    }
    Ok(())
}
