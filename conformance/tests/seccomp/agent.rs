//! A seccomp agent for the NOTIFY tests: a thread serving a unix socket at `listenerPath`
//! that receives the container process state and the listener over SCM_RIGHTS, then
//! answers notified `mkdir`s with SECCOMP_IOCTL_NOTIF_RECV / NOTIF_SEND.
#![allow(clippy::expect_used, clippy::panic)]

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::Value;

/// The opaque `listenerMetadata` of the profiles below; the agent must get it back verbatim.
pub(super) const METADATA: &str = "MKDIR=/refused,/faked;agent=skiff-conformance";

/// What the agent answers to a notified `mkdir` of a path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    /// Fail the call with this errno.
    Errno(i32),
    /// Make the call return this value without it being run.
    Success(i64),
}

/// One notification as the agent saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    /// The calling thread, in the agent's pid namespace.
    pub(super) pid: u32,
    pub(super) nr: i64,
    /// The path argument, read from the caller's memory.
    pub(super) path: String,
}

/// One connection on the agent's socket: what came over it and what was answered.
#[derive(Debug)]
pub(super) struct Conn {
    /// The container process state, parsed.
    pub(super) state: Value,
    /// Whether the runtime closed the connection after the state.
    pub(super) closed: bool,
    /// What each received descriptor is (`readlink /proc/self/fd/N`).
    pub(super) fd_kinds: Vec<String>,
    pub(super) seen: Vec<Seen>,
}

/// `struct seccomp_data` of <linux/seccomp.h>.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeccompData {
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeccompNotif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeccompNotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const _: () = assert!(std::mem::size_of::<SeccompNotif>() == 80);
const _: () = assert!(std::mem::size_of::<SeccompNotifResp>() == 24);

/// `_IOC(dir, '!', nr, size)` of the seccomp ioctls (asm-generic encoding: x86, arm64, ...).
pub(super) const fn seccomp_ioc(
    dir: libc::c_ulong,
    nr: libc::c_ulong,
    size: usize,
) -> libc::c_ulong {
    (dir << 30) | ((size as libc::c_ulong) << 16) | ((b'!' as libc::c_ulong) << 8) | nr
}
pub(super) const IOC_WRITE: libc::c_ulong = 1;
pub(super) const IOC_READ: libc::c_ulong = 2;
/// `SECCOMP_IOCTL_NOTIF_RECV`: `_IOWR('!', 0, struct seccomp_notif)`.
pub(super) const NOTIF_RECV: libc::c_ulong =
    seccomp_ioc(IOC_READ | IOC_WRITE, 0, std::mem::size_of::<SeccompNotif>());
/// `SECCOMP_IOCTL_NOTIF_SEND`: `_IOWR('!', 1, struct seccomp_notif_resp)`.
pub(super) const NOTIF_SEND: libc::c_ulong = seccomp_ioc(
    IOC_READ | IOC_WRITE,
    1,
    std::mem::size_of::<SeccompNotifResp>(),
);
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: `_IOW('!', 2, __u64)`.
pub(super) const NOTIF_ID_VALID: libc::c_ulong =
    seccomp_ioc(IOC_WRITE, 2, std::mem::size_of::<u64>());

const _: () = assert!(NOTIF_RECV == 0xc050_2100);
const _: () = assert!(NOTIF_SEND == 0xc018_2101);

/// How long the agent waits, in all, for connections and notifications.
pub(super) const AGENT_PATIENCE: Duration = Duration::from_secs(20);

/// A seccomp agent on a unix socket in its own temp dir, run by a thread. For each
/// connection it expects (in order) it receives the container process state and the
/// listener, then answers notified `mkdir`s by path until it has answered every path of
/// that connection's plan. Dropping it stops the thread, which closes the listeners: a
/// container blocked in a notified call then gets ENOSYS instead of hanging.
pub(super) struct Agent {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Vec<Conn>, String>>>,
}

impl Agent {
    /// `plan[i]`: the answers, by path, on the listener of the i-th connection.
    pub(super) fn spawn(plan: Vec<Vec<(&'static str, Answer)>>) -> Agent {
        let dir = tempfile::Builder::new()
            .prefix("skiff-agent-")
            .tempdir()
            .expect("agent dir");
        let listener = UnixListener::bind(dir.path().join("agent.sock")).expect("bind agent");
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || serve(&listener, &plan, &flag));
        Agent {
            dir,
            stop,
            thread: Some(thread),
        }
    }

    pub(super) fn path(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    /// Waits for the agent to be done with its plan (it gives up on its own after
    /// [`AGENT_PATIENCE`]).
    pub(super) fn finish(mut self) -> Result<Vec<Conn>, String> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err("agent thread panicked".into())),
            None => Err("agent already finished".into()),
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Polls `fd` for `events` until `deadline` (or `stop`); returns the revents.
pub(super) fn wait_for(
    fd: BorrowedFd<'_>,
    events: i16,
    deadline: Instant,
    stop: &AtomicBool,
    what: &str,
) -> Result<i16, String> {
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(format!("agent stopped while waiting for {what}"));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("agent timed out waiting for {what}"));
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis().min(100)).unwrap_or(100);
        // SAFETY: poll on one pollfd that lives across the call, for a valid fd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("poll for {what}: {e}"));
        }
        if r > 0 {
            return Ok(pfd.revents);
        }
    }
}

/// The agent's thread: one connection after another, as `plan` says. Returns what it saw;
/// the listeners stay open until every connection of the plan is served.
pub(super) fn serve(
    listener: &UnixListener,
    plan: &[Vec<(&'static str, Answer)>],
    stop: &AtomicBool,
) -> Result<Vec<Conn>, String> {
    let deadline = Instant::now() + AGENT_PATIENCE;
    let mut conns = Vec::new();
    let mut listeners = Vec::new();
    for (i, answers) in plan.iter().enumerate() {
        wait_for(
            listener.as_fd(),
            libc::POLLIN,
            deadline,
            stop,
            &format!("connection {i}"),
        )?;
        let (stream, _) = listener
            .accept()
            .map_err(|e| format!("accept connection {i}: {e}"))?;
        let Received { state, fds, closed } = receive_state(&stream, deadline, stop)?;
        drop(stream);
        let fd_kinds = fds
            .iter()
            .map(|fd| {
                std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|e| format!("unreadable: {e}"))
            })
            .collect();
        let mut conn = Conn {
            state,
            closed,
            fd_kinds,
            seen: Vec::new(),
        };
        let Some(notify) = fds.into_iter().next() else {
            conns.push(conn);
            return Err(format!("connection {i} carried no descriptor: {conns:?}"));
        };
        conn.seen = answer(&notify, answers, deadline, stop)?;
        conns.push(conn);
        listeners.push(notify);
    }
    Ok(conns)
}

/// What came over one connection: the state, the descriptors of its SCM_RIGHTS, and
/// whether the runtime closed the connection after the state.
pub(super) struct Received {
    state: Value,
    fds: Vec<OwnedFd>,
    closed: bool,
}

/// How long the agent waits for the runtime to close a connection once the state is in.
pub(super) const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Reads one container process state from `stream`: up to EOF, or, when the runtime
/// does not close the connection, until the bytes read are one whole JSON value and
/// nothing follows within [`CLOSE_PATIENCE`].
pub(super) fn receive_state(
    stream: &UnixStream,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Received, String> {
    let mut bytes = Vec::new();
    let mut fds = Vec::new();
    let mut complete_at: Option<Instant> = None;
    let closed = loop {
        let until = complete_at.map_or(deadline, |t| deadline.min(t + CLOSE_PATIENCE));
        if let Err(e) = wait_for(stream.as_fd(), libc::POLLIN, until, stop, "the state") {
            if complete_at.is_some() && !stop.load(Ordering::SeqCst) {
                break false;
            }
            return Err(format!(
                "{e} (got {:?} so far)",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 4]);
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
        );
        let msg = match msg {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("recvmsg: {e}")),
        };
        let n = msg.bytes;
        let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
        let mut got = Vec::new();
        for cmsg in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
            if let ControlMessageOwned::ScmRights(raw) = cmsg {
                for fd in raw {
                    // SAFETY: SCM_RIGHTS just installed this descriptor in our table for
                    // this message; nothing else owns it.
                    got.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        if truncated {
            return Err("control data truncated (more than 4 descriptors?)".into());
        }
        if !got.is_empty() && !bytes.is_empty() {
            return Err("descriptors came after the first sendmsg".into());
        }
        fds.extend(got);
        if n == 0 {
            break true;
        }
        if complete_at.is_some() {
            return Err(format!(
                "more than one state on a connection: {:?} then {:?}",
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(buf.get(..n).unwrap_or_default())
            ));
        }
        bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
        if serde_json::from_slice::<Value>(&bytes).is_ok() {
            complete_at = Some(Instant::now());
        }
    };
    let state = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "state is not one JSON value ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok(Received { state, fds, closed })
}

/// Answers notifications on `notify` until each path of `answers` had its answer; a
/// notification for any other path is an error (and is answered ENOSYS).
pub(super) fn answer(
    notify: &OwnedFd,
    answers: &[(&'static str, Answer)],
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Vec<Seen>, String> {
    let mut seen: Vec<Seen> = Vec::new();
    while seen.len() < answers.len() {
        let what = format!("notification {} (seen so far: {seen:?})", seen.len());
        let revents = wait_for(notify.as_fd(), libc::POLLIN, deadline, stop, &what)?;
        if revents & libc::POLLIN == 0 {
            // POLLHUP: every process under the filter is gone.
            return Err(format!(
                "listener hung up (revents {revents:#x}) before {what}"
            ));
        }
        let mut req = SeccompNotif::default();
        // SAFETY: NOTIF_RECV writes one `struct seccomp_notif` into `req`, which has the
        // kernel's layout (size asserted above) and is zeroed as the kernel requires.
        let r = unsafe { libc::ioctl(notify.as_raw_fd(), NOTIF_RECV, &mut req) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("SECCOMP_IOCTL_NOTIF_RECV: {e}"));
        }
        let nr = i64::from(req.data.nr);
        let ptr = if nr == libc::SYS_mkdirat {
            req.data.args[1]
        } else {
            req.data.args[0]
        };
        let path = read_string(req.pid, ptr);
        // The caller may have died and its pid been reused while we read its memory:
        // the path is only trusted while the notification is still pending.
        let mut id = req.id;
        // SAFETY: NOTIF_ID_VALID reads one u64 from a valid pointer.
        let valid = unsafe { libc::ioctl(notify.as_raw_fd(), NOTIF_ID_VALID, &mut id) } == 0;
        let path = if valid {
            path
        } else {
            "(caller gone)".to_string()
        };
        let chosen = answers
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, a)| *a)
            .unwrap_or(Answer::Errno(libc::ENOSYS));
        let mut resp = SeccompNotifResp {
            id: req.id,
            ..SeccompNotifResp::default()
        };
        match chosen {
            // The kernel returns `error` as the call's result: a negated errno.
            Answer::Errno(e) => resp.error = -e,
            Answer::Success(v) => resp.val = v,
        }
        // SAFETY: NOTIF_SEND reads one `struct seccomp_notif_resp` of the kernel's layout.
        let r = unsafe { libc::ioctl(notify.as_raw_fd(), NOTIF_SEND, &mut resp) };
        if r < 0 {
            return Err(format!(
                "SECCOMP_IOCTL_NOTIF_SEND for {path:?}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let known = answers.iter().any(|(p, _)| *p == path);
        seen.push(Seen {
            pid: req.pid,
            nr,
            path,
        });
        if !known {
            return Err(format!("notification for an unexpected call: {seen:?}"));
        }
    }
    Ok(seen)
}

/// The NUL-terminated string at `addr` in the memory of process `pid` (at most 4 KiB),
/// or a description of why it could not be read.
pub(super) fn read_string(pid: u32, addr: u64) -> String {
    let mem = match std::fs::File::open(format!("/proc/{pid}/mem")) {
        Ok(f) => f,
        Err(e) => return format!("(cannot open /proc/{pid}/mem: {e})"),
    };
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    // A read may stop at a page boundary; go on until the NUL.
    while len < buf.len() {
        match mem.read_at(buf.get_mut(len..).unwrap_or_default(), addr + len as u64) {
            Ok(0) => break,
            Ok(n) => {
                if buf.get(len..len + n).is_some_and(|b| b.contains(&0)) {
                    len += n;
                    break;
                }
                len += n;
            }
            Err(e) if len == 0 => return format!("(cannot read /proc/{pid}/mem: {e})"),
            Err(_) => break,
        }
    }
    let bytes = buf.get(..len).unwrap_or_default();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}
