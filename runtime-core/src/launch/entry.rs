//! The entry point of I: recognising a re-executed copy of the caller.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

use super::channel::Channel;

/// argv[0] of the re-executed init process.
pub(crate) const INIT_ARGV0: &str = "skiff-init";
/// The environment variable naming the launch socket's fd in I.
pub(crate) const INIT_FD_ENV: &str = "_SKIFF_INIT_FD";

/// Run the container-side setup if this process is a copy of the caller that
/// skiff started for it, and never return in that case; otherwise return at
/// once. Call it first thing in `main` of every binary that creates
/// containers with this crate.
pub fn init_if_requested() {
    let mut args = std::env::args_os();
    if args.next().as_deref() != Some(std::ffi::OsStr::new(INIT_ARGV0)) {
        return;
    }
    let Some(fd) = std::env::var(INIT_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<RawFd>().ok())
    else {
        return;
    };
    // The fd must be one P made for us: a unix socket.
    if nix::sys::stat::fstat(
        // SAFETY: fd is only looked at here; it is not closed or owned.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
    )
    .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
    .unwrap_or(false)
    {
        // SAFETY: P passed this fd to us for our sole use, it is an open
        // socket (checked above), and nothing else in this process owns it.
        let sock = unsafe { UnixStream::from_raw_fd(fd) };
        std::env::remove_var(INIT_FD_ENV);
        super::init::main(Channel::new(sock));
    }
}
