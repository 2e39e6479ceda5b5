//! The foreground terminal of `run` and `exec` without `--console-socket`:
//! skiff takes the pty master itself, as runc does, and proxies it to its own
//! stdin and stdout until the container process ends.
//!
//! ```text
//!   skiff                                   container
//!   socketpair: ours ◀──── pty master ───── theirs (ContainerBuilder::console_socket_fd)
//!   stdin  ──────▶ master ═══ pty ═══ slave ──▶ process stdin
//!   stdout ◀────── master ═══ pty ═══ slave ◀── process stdout/stderr
//!   SIGWINCH → TIOCSWINSZ on master; other signals → kill(pid); SIGCHLD → reap
//! ```
//!
//! One thread, one poll loop over a signalfd, the master and stdin: the
//! signals are blocked (`block_forwarded_signals`) before the container is
//! created, so none is lost and none is taken by another thread.

use std::fs::File;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use skiff_core::ExitStatus;

/// Why the terminal could not be proxied.
#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    /// The console socketpair could not be made.
    #[error("create console socket pair: {0}")]
    SocketPair(std::io::Error),
    /// A system call of the proxy failed.
    #[error("console proxy: {op}: {source}")]
    Sys {
        /// What was being done.
        op: &'static str,
        /// The cause.
        source: nix::Error,
    },
    /// The container sent no pty master over the console socket.
    #[error("console proxy: the container sent no pty master")]
    NoMaster,
    /// Copying between the terminal and the pty failed.
    #[error("console proxy: {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> TtyError {
    move |source| TtyError::Sys { op, source }
}

/// A connected socket pair: skiff keeps the first end, the container
/// receives the second ([`skiff_core::ContainerBuilder::console_socket_fd`]).
pub fn console_pair() -> Result<(UnixStream, OwnedFd), TtyError> {
    let (ours, theirs) = UnixStream::pair().map_err(TtyError::SocketPair)?;
    Ok((ours, theirs.into()))
}

/// Receive the pty master the container sent over `sock` (SCM_RIGHTS, the
/// pty's name as data).
pub fn receive_master(sock: &UnixStream) -> Result<OwnedFd, TtyError> {
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(sys("receive pty master"))?;
    let mut master = None;
    for cmsg in msg.cmsgs().map_err(sys("receive pty master"))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: SCM_RIGHTS just installed this fd in our table; we
                // are its only owner.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if master.is_none() {
                    master = Some(owned);
                }
            }
        }
    }
    master.ok_or(TtyError::NoMaster)
}

/// The host terminal in raw mode; restored when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Put stdin in raw mode if it is a terminal.
    fn enter() -> Option<Self> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Copy the host terminal's window size (stdin's) to the pty master.
fn copy_window_size(master: BorrowedFd<'_>) {
    // SAFETY: an all-zero winsize is a valid value of this plain C struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize through the pointer, which points
    // to one we own; fd 0 is only read from.
    if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return;
    }
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer; the master fd is
    // borrowed and open for the call.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// The signals forwarded to the container process, as the library's
/// `block_forwarded_signals` blocks them: all but those that cannot be
/// caught or that report a fault of skiff itself.
fn forwarded_signals() -> SigSet {
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

fn from_wait(status: WaitStatus) -> ExitStatus {
    match status {
        WaitStatus::Exited(_, code) => ExitStatus::Exited(code),
        WaitStatus::Signaled(_, sig, _) => ExitStatus::Signaled(sig),
        _ => ExitStatus::Unknown,
    }
}

/// Reap every ended child; the status of `target` if it is among them.
fn reap(target: Pid) -> Result<Option<ExitStatus>, TtyError> {
    let mut found = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => return Ok(found),
            Ok(status) if status.pid() == Some(target) => found = Some(from_wait(status)),
            Ok(_) => {}
            Err(source) => {
                return Err(TtyError::Sys {
                    op: "waitpid",
                    source,
                })
            }
        }
    }
}

/// Proxy stdin/stdout to `master` and forward signals to `pid` until it
/// ends; its exit status. The forwarded signals must be blocked already.
pub fn proxy_until_exit(master: OwnedFd, pid: i32) -> Result<ExitStatus, TtyError> {
    let target = Pid::from_raw(pid);
    let signals = SignalFd::with_flags(&forwarded_signals(), SfdFlags::SFD_CLOEXEC)
        .map_err(sys("signalfd"))?;
    let _raw = RawMode::enter();
    copy_window_size(master.as_fd());
    let mut master = File::from(master);
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    loop {
        if let Some(status) = reap(target)? {
            drain(&mut master, &mut stdout, master_open);
            return Ok(status);
        }
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if master_open {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(source) => return Err(TtyError::Sys { op: "poll", source }),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut i = 1;
        if master_open {
            if ready[i] {
                match master.read(&mut buf) {
                    // EIO: every slave fd is closed.
                    Ok(0) | Err(_) => master_open = false,
                    Ok(n) => {
                        stdout.write_all(&buf[..n]).map_err(|source| TtyError::Io {
                            op: "write stdout",
                            source,
                        })?;
                        stdout.flush().map_err(|source| TtyError::Io {
                            op: "write stdout",
                            source,
                        })?;
                    }
                }
            }
            i += 1;
        }
        if stdin_open && ready[i] {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) if master_open => {
                    master.write_all(&buf[..n]).map_err(|source| TtyError::Io {
                        op: "write pty master",
                        source,
                    })?;
                }
                Ok(_) => {}
            }
        }
        if ready[0] {
            // One signal per wakeup: the signalfd is blocking, poll tells of the next.
            if let Some(info) = signals.read_signal().map_err(sys("read signalfd"))? {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) | Err(_) => {} // reaped at the top of the loop
                    Ok(Signal::SIGWINCH) => copy_window_size(master.as_fd()),
                    Ok(sig) => {
                        let _ = kill(target, sig);
                    }
                }
            }
        }
    }
}

/// After the process ended: copy what is left in the pty to stdout.
fn drain(master: &mut File, stdout: &mut std::io::Stdout, open: bool) {
    if !open {
        return;
    }
    if let Ok(flags) = fcntl(master.as_fd(), FcntlArg::F_GETFL) {
        let _ = fcntl(
            master.as_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        );
    }
    let mut buf = [0u8; 8192];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 || stdout.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_travels_over_the_pair() {
        let (ours, theirs) = match console_pair() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let (r, _w) = match nix::unistd::pipe() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let fds = [r.as_raw_fd()];
        let iov = [std::io::IoSlice::new(b"/dev/pts/9")];
        let sent = nix::sys::socket::sendmsg::<()>(
            theirs.as_raw_fd(),
            &iov,
            &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        );
        assert!(sent.is_ok(), "{sent:?}");
        let got = receive_master(&ours);
        assert!(got.is_ok(), "{got:?}");
    }

    #[test]
    fn no_fd_is_an_error() {
        let Ok((ours, theirs)) = console_pair() else {
            panic!("socketpair")
        };
        drop(theirs);
        assert!(matches!(receive_master(&ours), Err(TtyError::NoMaster)));
    }
}
