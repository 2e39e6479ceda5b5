//! `linux.seccomp` through a whole container: NOTIFY profiles that cannot work are refused
//! with the field or path named, and leave nothing behind; with an agent at
//! `listenerPath` (the test itself), the listener and the container process state reach
//! it, and its answers are what the container's notified calls return.
#![allow(clippy::expect_used, clippy::panic)]

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::{json, Value};
use skiff_conformance::{unique_id, Fixture};

/// A NOTIFY profile whose `listenerPath` does not exist: the runtime must generate an error
/// (config-linux.md) naming the path, and leave no process, state or cgroup behind.
#[test]
fn notify_with_missing_listener_path_fails_naming_it() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let path = f.bundle.path().join("no-such-dir/agent.sock");
    f.bundle.config_mut()["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
    });
    let id = unique_id("notify-nopath");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_ne!(out.code(), Some(0), "{out}");
    if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&path.display().to_string()),
            "error names {}: {out}",
            path.display()
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// NOTIFY on `sendmsg`, the call skiff makes to hand the listener to the agent, would hold
/// the container forever: refused up front, naming the syscall (runc refuses `write`, which
/// its init uses the same way).
#[test]
fn notify_on_the_runtime_handover_call_is_refused() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    if f.rt.is_runc() {
        return;
    }
    let path = f.bundle.path().join("agent.sock");
    let _agent = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    f.bundle.config_mut()["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "syscalls": [{ "names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY" }]
    });
    let id = unique_id("notify-sendmsg");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_ne!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("sendmsg"), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// NOTIFY with a seccomp agent: the test is the agent at `listenerPath`.
// ---------------------------------------------------------------------------------------------

/// The opaque `listenerMetadata` of the profiles below; the agent must get it back verbatim.
const METADATA: &str = "MKDIR=/refused,/faked;agent=skiff-conformance";

/// What the agent answers to a notified `mkdir` of a path.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Fail the call with this errno.
    Errno(i32),
    /// Make the call return this value without it being run.
    Success(i64),
}

/// One notification as the agent saw it.
#[derive(Debug, Clone)]
struct Seen {
    /// The calling thread, in the agent's pid namespace.
    pid: u32,
    nr: i64,
    /// The path argument, read from the caller's memory.
    path: String,
}

/// One connection on the agent's socket: what came over it and what was answered.
#[derive(Debug)]
struct Conn {
    /// The container process state, parsed.
    state: Value,
    /// Whether the runtime closed the connection after the state.
    closed: bool,
    /// What each received descriptor is (`readlink /proc/self/fd/N`).
    fd_kinds: Vec<String>,
    seen: Vec<Seen>,
}

/// `struct seccomp_data` of <linux/seccomp.h>.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompData {
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompNotif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompNotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const _: () = assert!(std::mem::size_of::<SeccompNotif>() == 80);
const _: () = assert!(std::mem::size_of::<SeccompNotifResp>() == 24);

/// `_IOC(dir, '!', nr, size)` of the seccomp ioctls (asm-generic encoding: x86, arm64, ...).
const fn seccomp_ioc(dir: libc::c_ulong, nr: libc::c_ulong, size: usize) -> libc::c_ulong {
    (dir << 30) | ((size as libc::c_ulong) << 16) | ((b'!' as libc::c_ulong) << 8) | nr
}
const IOC_WRITE: libc::c_ulong = 1;
const IOC_READ: libc::c_ulong = 2;
/// `SECCOMP_IOCTL_NOTIF_RECV`: `_IOWR('!', 0, struct seccomp_notif)`.
const NOTIF_RECV: libc::c_ulong =
    seccomp_ioc(IOC_READ | IOC_WRITE, 0, std::mem::size_of::<SeccompNotif>());
/// `SECCOMP_IOCTL_NOTIF_SEND`: `_IOWR('!', 1, struct seccomp_notif_resp)`.
const NOTIF_SEND: libc::c_ulong = seccomp_ioc(
    IOC_READ | IOC_WRITE,
    1,
    std::mem::size_of::<SeccompNotifResp>(),
);
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: `_IOW('!', 2, __u64)`.
const NOTIF_ID_VALID: libc::c_ulong = seccomp_ioc(IOC_WRITE, 2, std::mem::size_of::<u64>());

const _: () = assert!(NOTIF_RECV == 0xc050_2100);
const _: () = assert!(NOTIF_SEND == 0xc018_2101);

/// How long the agent waits, in all, for connections and notifications.
const AGENT_PATIENCE: Duration = Duration::from_secs(20);

/// A seccomp agent on a unix socket in its own temp dir, run by a thread. For each
/// connection it expects (in order) it receives the container process state and the
/// listener, then answers notified `mkdir`s by path until it has answered every path of
/// that connection's plan. Dropping it stops the thread, which closes the listeners: a
/// container blocked in a notified call then gets ENOSYS instead of hanging.
struct Agent {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Vec<Conn>, String>>>,
}

impl Agent {
    /// `plan[i]`: the answers, by path, on the listener of the i-th connection.
    fn spawn(plan: Vec<Vec<(&'static str, Answer)>>) -> Agent {
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

    fn path(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    /// Waits for the agent to be done with its plan (it gives up on its own after
    /// [`AGENT_PATIENCE`]).
    fn finish(mut self) -> Result<Vec<Conn>, String> {
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
fn wait_for(
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
fn serve(
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
struct Received {
    state: Value,
    fds: Vec<OwnedFd>,
    closed: bool,
}

/// How long the agent waits for the runtime to close a connection once the state is in.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Reads one container process state from `stream`: up to EOF, or, when the runtime
/// does not close the connection, until the bytes read are one whole JSON value and
/// nothing follows within [`CLOSE_PATIENCE`].
fn receive_state(
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
fn answer(
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
fn read_string(pid: u32, addr: u64) -> String {
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

/// A profile that allows everything but notifies `mkdir`/`mkdirat` to the agent at `path`.
fn notify_profile(path: &Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "listenerMetadata": METADATA,
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
    })
}

/// Checks what every connection must carry: the listener (one seccomp notify fd, named
/// `seccompFd`), the metadata, and a state of container `id`; and, when `must_close`,
/// that the runtime closed the connection after the state.
fn check_conn(conn: &Conn, id: &str, must_close: bool) {
    let s = &conn.state;
    assert!(
        conn.closed || !must_close,
        "one state per connection, closed after it: {conn:?}"
    );
    assert_eq!(conn.fd_kinds, ["anon_inode:seccomp notify"], "{conn:?}");
    assert_eq!(s["fds"], json!(["seccompFd"]), "{s}");
    assert!(
        s["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{s}"
    );
    assert!(s["pid"].as_u64().is_some_and(|p| p > 0), "{s}");
    assert_eq!(s["metadata"], METADATA, "{s}");
    assert_eq!(s["state"]["id"], id, "{s}");
    assert!(
        s["state"]["ociVersion"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{s}"
    );
    assert!(s["state"]["pid"].as_u64().is_some_and(|p| p > 0), "{s}");
    for seen in &conn.seen {
        assert!(
            seen.nr == libc::SYS_mkdir || seen.nr == libc::SYS_mkdirat,
            "notified syscall {} is not mkdir ({}) or mkdirat ({}): {conn:?}",
            seen.nr,
            libc::SYS_mkdir,
            libc::SYS_mkdirat
        );
        assert_eq!(
            u64::from(seen.pid),
            s["pid"].as_u64().unwrap_or(0),
            "the caller is the process the state names: {conn:?}"
        );
    }
}

/// What a container served by the agent left: the agent's connections, the container's
/// pid (from `state` once created) and the probe's report (its stdout).
struct Served {
    conns: Vec<Conn>,
    pid: u64,
    report: Value,
}

/// Create and start container `id` of `f`, wait until it stops, and end the agent.
fn serve_container(f: &Fixture, id: &str, agent: Agent) -> Served {
    let out = f.rt.create(id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let pid = f.rt.state_json(id).expect("state")["pid"]
        .as_u64()
        .expect("pid in state");
    let out = f.rt.start(id).expect("start");
    assert!(out.success(), "{out}");
    let stopped = f.rt.wait_status(id, "stopped", AGENT_PATIENCE);
    let conns = agent.finish();
    stopped.expect("the container ends");
    let (stdout, stderr) = f.rt.output(id);
    let conns = conns.unwrap_or_else(|e| panic!("agent: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("probe report ({e}): {stdout}\nstderr: {stderr}"));
    Served { conns, pid, report }
}

/// Delete container `id` and check it left nothing behind.
fn delete_leaving_nothing(f: &Fixture, id: &str) {
    let out = f.rt.delete(id).expect("delete");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(id), Vec::<String>::new());
}

/// The probe's `mkdir` report for `path`: (ok, errno, exists).
fn mkdir_result(report: &Value, path: &str) -> (bool, Option<i64>, bool) {
    let entry = report
        .as_array()
        .and_then(|a| a.iter().find(|e| e["path"] == path))
        .unwrap_or_else(|| panic!("no entry for {path} in {report}"));
    (
        entry["ok"].as_bool().unwrap_or(false),
        entry["errno"].as_i64(),
        entry["exists"].as_bool().unwrap_or(true),
    )
}

/// The whole NOTIFY path: the runtime hands the listener and the container process state
/// to the agent at `listenerPath`; the agent's answers are what the container's `mkdir`s
/// return. `/refused` is answered EXDEV (which mkdir never returns by itself), `/faked` is
/// answered success without being made, so the container sees it succeed and yet finds no
/// directory: neither could happen without the agent.
#[test]
fn notify_agent_answers_the_containers_mkdir() {
    let mut f = Fixture::new(&["/bin/probe", "mkdir", "/refused", "/faked"]).expect("fixture");
    let agent = Agent::spawn(vec![vec![
        ("/refused", Answer::Errno(libc::EXDEV)),
        ("/faked", Answer::Success(0)),
    ]]);
    f.bundle.config_mut()["linux"]["seccomp"] = notify_profile(&agent.path());
    f.bundle.config_mut()["annotations"] = json!({ "skiff.test/agent": "notify" });
    let id = unique_id("notify-agent");
    let Served { conns, pid, report } = serve_container(&f, &id, agent);

    assert_eq!(conns.len(), 1, "{conns:?}");
    let conn = &conns[0];
    check_conn(conn, &id, true);
    let s = &conn.state;
    assert_eq!(s["pid"].as_u64(), Some(pid), "pid of the container: {s}");
    assert_eq!(s["state"]["pid"].as_u64(), Some(pid), "{s}");
    let status = s["state"]["status"].as_str().unwrap_or("");
    assert!(status == "creating" || status == "running", "{s}");
    assert_eq!(
        s["state"]["bundle"].as_str().map(PathBuf::from),
        Some(f.bundle.path().to_path_buf()),
        "{s}"
    );
    assert_eq!(
        s["state"]["annotations"]["skiff.test/agent"], "notify",
        "{s}"
    );
    let paths: Vec<&str> = conn.seen.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["/refused", "/faked"], "{conn:?}");

    // What the container saw is what the agent answered.
    assert_eq!(
        mkdir_result(&report, "/refused"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );
    assert_eq!(
        mkdir_result(&report, "/faked"),
        (true, None, false),
        "{report}"
    );
    assert!(!f.bundle.rootfs().join("refused").exists());
    assert!(!f.bundle.rootfs().join("faked").exists());
    delete_leaving_nothing(&f, &id);
}

/// A process `exec`ed into the container gets its own filter and listener, handed to the
/// agent on a connection of its own, with the state of the running container: `pid` is
/// the exec'd process (the one the notifications come from), `state.pid` the container's.
#[test]
fn notify_agent_gets_the_exec_process_listener() {
    let mut f = Fixture::new(&["/bin/probe", "sleep", "30"]).expect("fixture");
    // The container's own process makes no mkdir; the exec'd one makes one.
    let agent = Agent::spawn(vec![
        vec![],
        vec![("/from-exec", Answer::Errno(libc::EXDEV))],
    ]);
    f.bundle.config_mut()["linux"]["seccomp"] = notify_profile(&agent.path());
    let id = unique_id("notify-exec");

    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_u64()
        .expect("pid in state");
    let out = f.rt.start(&id).expect("start");
    assert!(out.success(), "{out}");
    let exec = f.rt.exec(&id, &[], &["/bin/probe", "mkdir", "/from-exec"]);
    let conns = agent.finish();
    let _ = f.rt.kill(&id, "KILL");
    let exec = exec.expect("exec");
    let conns = conns.unwrap_or_else(|e| panic!("agent: {e}\nexec: {exec}"));

    assert_eq!(conns.len(), 2, "{conns:?}");
    // runc 1.1.5 keeps the exec'd process's connection open (until its `exec` ends),
    // against "it MUST be closed after sending"; the agent then goes by the JSON's end.
    let must_close = [true, !f.rt.is_runc()];
    for (conn, must_close) in conns.iter().zip(must_close) {
        check_conn(conn, &id, must_close);
        assert_eq!(conn.state["state"]["pid"].as_u64(), Some(pid), "{conn:?}");
    }
    let (init, exec_conn) = (&conns[0].state, &conns[1].state);
    assert_eq!(init["pid"].as_u64(), Some(pid), "{init}");
    let status = init["state"]["status"].as_str().unwrap_or("");
    assert!(status == "creating" || status == "running", "{init}");
    assert_eq!(exec_conn["state"]["status"], "running", "{exec_conn}");
    assert_ne!(exec_conn["pid"].as_u64(), Some(pid), "{exec_conn}");
    assert_eq!(conns[1].seen.len(), 1, "{conns:?}");

    assert!(exec.success(), "{exec}");
    let report = exec.json().expect("probe report");
    assert_eq!(
        mkdir_result(&report, "/from-exec"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );

    f.rt.wait_status(&id, "stopped", Duration::from_secs(10))
        .expect("stopped");
    delete_leaving_nothing(&f, &id);
}

/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` reaches the kernel with the listener: the
/// filter loads, the agent gets the listener and its answer reaches the container.
/// (runc 1.1 does not know the flag.)
#[test]
fn notify_with_wait_killable_recv_flag() {
    let mut f = Fixture::new(&["/bin/probe", "mkdir", "/refused"]).expect("fixture");
    if f.rt.is_runc() {
        return;
    }
    let agent = Agent::spawn(vec![vec![("/refused", Answer::Errno(libc::EXDEV))]]);
    let mut profile = notify_profile(&agent.path());
    profile["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    f.bundle.config_mut()["linux"]["seccomp"] = profile;
    let id = unique_id("notify-waitkill");
    let Served { conns, report, .. } = serve_container(&f, &id, agent);

    assert_eq!(conns.len(), 1, "{conns:?}");
    check_conn(&conns[0], &id, true);
    assert_eq!(
        mkdir_result(&report, "/refused"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );
    delete_leaving_nothing(&f, &id);
}
