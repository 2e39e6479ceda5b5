//! OCI hooks: run each with the container state on stdin, honouring its
//! timeout, at the moments config.md names.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::{Hook, Spec};
use serde::Serialize;

use crate::container::{State, Status};
use crate::launch::LaunchPlan;

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook could not be started.
    #[error("{kind} hook #{index} {path}: start: {source}")]
    Spawn {
        /// prestart, createRuntime, ….
        kind: &'static str,
        /// Its position in the list.
        index: usize,
        /// Its path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The hook exited unsuccessfully.
    #[error("{kind} hook #{index} {path}: {status}, stderr: {stderr}")]
    Failed {
        /// prestart, createRuntime, ….
        kind: &'static str,
        /// Its position in the list.
        index: usize,
        /// Its path.
        path: PathBuf,
        /// How it ended.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// Waiting for the hook or talking to it failed.
    #[error("{kind} hook #{index} {path}: {op}: {source}")]
    Wait {
        /// prestart, createRuntime, ….
        kind: &'static str,
        /// Its position in the list.
        index: usize,
        /// Its path.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The hook ran past its timeout and was killed.
    #[error("{kind} hook #{index} {path}: timed out after {secs} s")]
    Timeout {
        /// prestart, createRuntime, ….
        kind: &'static str,
        /// Its position in the list.
        index: usize,
        /// Its path.
        path: PathBuf,
        /// The timeout.
        secs: i64,
    },
}

/// The state a hook reads on stdin (runtime.md's state).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HookState {
    pub(crate) oci_version: String,
    pub(crate) id: String,
    pub(crate) status: Status,
    pub(crate) pid: i32,
    pub(crate) bundle: PathBuf,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub(crate) annotations: HashMap<String, String>,
}

impl From<&State> for HookState {
    fn from(s: &State) -> Self {
        Self {
            oci_version: s.oci_version.clone(),
            id: s.id.clone(),
            status: s.status,
            pid: s.pid,
            bundle: s.bundle.clone(),
            annotations: s.annotations.clone(),
        }
    }
}

/// The state the container-side hooks see: status `created`, and the
/// container process's pid on the host, read from the host's /proc while it
/// is still mounted (before pivot_root).
pub(crate) fn creating_state(plan: &LaunchPlan, host_pid: i32) -> HookState {
    HookState {
        oci_version: plan.spec.version().clone(),
        id: plan.id.clone(),
        status: Status::Created,
        pid: host_pid,
        bundle: plan.bundle.clone(),
        annotations: plan.spec.annotations().clone().unwrap_or_default(),
    }
}

fn list(spec: &Spec, pick: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<Hook>>) -> Vec<Hook> {
    spec.hooks()
        .as_ref()
        .and_then(|h| pick(h).clone())
        .unwrap_or_default()
}

/// Every hook list of the spec with its config.json name, for validation.
pub(crate) fn all_kinds(spec: &Spec) -> Vec<(&'static str, Vec<Hook>)> {
    #[allow(deprecated)]
    let prestart = list(spec, |h| h.prestart());
    vec![
        ("prestart", prestart),
        ("createRuntime", list(spec, |h| h.create_runtime())),
        ("createContainer", list(spec, |h| h.create_container())),
        ("startContainer", list(spec, |h| h.start_container())),
        ("poststart", list(spec, |h| h.poststart())),
        ("poststop", list(spec, |h| h.poststop())),
    ]
}

/// Whether P has hooks to run between the container's mounts and pivot_root.
pub(crate) fn has_create_runtime(spec: &Spec) -> bool {
    #[allow(deprecated)]
    let prestart = list(spec, |h| h.prestart());
    !prestart.is_empty() || !list(spec, |h| h.create_runtime()).is_empty()
}

/// prestart (deprecated, same moment) then createRuntime, in the runtime namespace.
pub(crate) fn run_prestart_and_create_runtime(
    spec: &Spec,
    state: &HookState,
) -> Result<(), HookError> {
    #[allow(deprecated)]
    run_all("prestart", &list(spec, |h| h.prestart()), state)?;
    run_all("createRuntime", &list(spec, |h| h.create_runtime()), state)
}

/// createContainer, in the container's namespaces before pivot_root.
pub(crate) fn run_create_container(spec: &Spec, state: &HookState) -> Result<(), HookError> {
    run_all(
        "createContainer",
        &list(spec, |h| h.create_container()),
        state,
    )
}

/// startContainer, in the container before the user program.
pub(crate) fn run_start_container(spec: &Spec, state: &HookState) -> Result<(), HookError> {
    run_all(
        "startContainer",
        &list(spec, |h| h.start_container()),
        state,
    )
}

/// poststart: a failure is a warning, the rest still run.
pub(crate) fn run_poststart(spec: &Spec, state: &HookState) {
    run_warn("poststart", &list(spec, |h| h.poststart()), state);
}

/// poststop: a failure is a warning, the rest still run.
pub(crate) fn run_poststop(spec: &Spec, state: &HookState) {
    run_warn("poststop", &list(spec, |h| h.poststop()), state);
}

fn run_all(kind: &'static str, hooks: &[Hook], state: &HookState) -> Result<(), HookError> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(kind, index, hook, state)?;
    }
    Ok(())
}

fn run_warn(kind: &'static str, hooks: &[Hook], state: &HookState) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(e) = run_one(kind, index, hook, state) {
            let _ = writeln!(std::io::stderr(), "skiff: warning: {e}");
        }
    }
}

/// The most of a hook's stderr kept for its error message.
const STDERR_LIMIT: usize = 64 * 1024;

/// A pidfd for `pid` (Linux 5.3); None where the kernel has none.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// One running hook: its pipes, and what has been read and written so far.
struct Running {
    child: Child,
    /// Readable once the hook has exited; None: poll try_wait instead.
    pidfd: Option<OwnedFd>,
    stdin: Option<ChildStdin>,
    body: Vec<u8>,
    written: usize,
    stderr_pipe: Option<ChildStderr>,
    stderr: Vec<u8>,
}

impl Running {
    /// Write what the pipe takes of the state; stop on EOF of the reader.
    fn feed(&mut self) {
        let Some(pipe) = self.stdin.as_mut() else {
            return;
        };
        match pipe.write(&self.body[self.written..]) {
            Ok(n) => self.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
            // A hook that does not read its stdin is not an error.
            Err(_) => self.written = self.body.len(),
        }
        if self.written >= self.body.len() {
            self.stdin = None;
        }
    }

    /// Read what stderr has; close it at EOF.
    fn drain(&mut self) {
        let Some(pipe) = self.stderr_pipe.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break self.stderr_pipe = None,
                Ok(n) => {
                    let room = STDERR_LIMIT.saturating_sub(self.stderr.len());
                    self.stderr.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break self.stderr_pipe = None,
            }
        }
    }

    /// Wait until the hook exits, feeding its stdin and reading its stderr,
    /// or until `deadline`; true when it exited. The hook may close its
    /// pipes and keep running, or exit and leave them open in a child: the
    /// exit is what ends the wait, never the pipes.
    fn wait_exit(&mut self, deadline: Option<Instant>) -> std::io::Result<bool> {
        loop {
            if self.pidfd.is_none() && self.child.try_wait()?.is_some() {
                return Ok(true);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
            // Without a pidfd, look at the child at least every 20 ms.
            let cap = if self.pidfd.is_some() {
                None
            } else {
                Some(Duration::from_millis(20))
            };
            let wait = match (left, cap) {
                (Some(l), Some(c)) => Some(l.min(c)),
                (l, c) => l.or(c),
            };
            let timeout = match wait {
                None => PollTimeout::NONE,
                Some(w) => PollTimeout::try_from(w.as_millis().clamp(1, i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX),
            };
            let mut fds = Vec::with_capacity(3);
            if let Some(fd) = &self.pidfd {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
            if let Some(p) = &self.stderr_pipe {
                fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            }
            if let Some(p) = &self.stdin {
                fds.push(PollFd::new(p.as_fd(), PollFlags::POLLOUT));
            }
            let exited_fd = self.pidfd.as_ref().map(|fd| fd.as_raw_fd());
            let exited = match poll(&mut fds, timeout) {
                Ok(0) | Err(nix::Error::EINTR) => false,
                Ok(_) => fds
                    .iter()
                    .any(|f| Some(f.as_fd().as_raw_fd()) == exited_fd && f.any().unwrap_or(false)),
                Err(e) => return Err(e.into()),
            };
            drop(fds);
            self.feed();
            self.drain();
            if exited {
                return Ok(true);
            }
        }
    }
}

fn command(hook: &Hook) -> Command {
    let mut cmd = Command::new(hook.path());
    if let Some((arg0, rest)) = hook.args().as_deref().and_then(<[String]>::split_first) {
        cmd.arg0(arg0).args(rest);
    }
    // The hook's env is exactly its `env`: nothing of the runtime's leaks in.
    cmd.env_clear();
    // Its own process group, so that a timeout kills what it started too.
    cmd.process_group(0);
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn run_one(
    kind: &'static str,
    index: usize,
    hook: &Hook,
    state: &HookState,
) -> Result<(), HookError> {
    let path = hook.path().clone();
    let fail = |op: &'static str| {
        let path = path.clone();
        move |source| HookError::Wait {
            kind,
            index,
            path,
            op,
            source,
        }
    };
    let start = Instant::now();
    let mut child = command(hook).spawn().map_err(|source| HookError::Spawn {
        kind,
        index,
        path: path.clone(),
        source,
    })?;
    let pidfd = pidfd_open(child.id());
    let (stdin, stderr_pipe) = (child.stdin.take(), child.stderr.take());
    let mut run = Running {
        child,
        pidfd,
        stdin,
        body: serde_json::to_vec(state).unwrap_or_default(),
        written: 0,
        stderr_pipe,
        stderr: Vec::new(),
    };
    for fd in run
        .stdin
        .as_ref()
        .map(|p| p.as_fd())
        .into_iter()
        .chain(run.stderr_pipe.as_ref().map(|p| p.as_fd()))
    {
        set_nonblocking(fd).map_err(|e| fail("set pipe non-blocking")(e.into()))?;
    }
    let timeout = hook.timeout().filter(|t| *t > 0);
    let deadline = timeout.map(|t| start + Duration::from_secs(t.unsigned_abs()));
    let exited = match run.wait_exit(deadline) {
        Ok(exited) => exited,
        Err(e) => {
            let _ = run.child.kill();
            let _ = run.child.wait();
            return Err(fail("wait")(e));
        }
    };
    if !exited {
        // The whole group: the hook and anything it started.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(run.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = run.child.kill();
        let _ = run.child.wait();
        return Err(HookError::Timeout {
            kind,
            index,
            path,
            secs: timeout.unwrap_or(0),
        });
    }
    // Exited: this reaps at once. What stderr still holds is read without
    // waiting for an EOF a lingering grandchild might never give.
    let status = run.child.wait().map_err(fail("wait"))?;
    run.drain();
    if status.success() {
        return Ok(());
    }
    Err(HookError::Failed {
        kind,
        index,
        path,
        status: status.to_string(),
        stderr: String::from_utf8_lossy(&run.stderr).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> HookState {
        HookState {
            oci_version: "1.0.2".into(),
            id: "hooked".into(),
            status: Status::Created,
            pid: 42,
            bundle: "/b".into(),
            annotations: HashMap::from([("a".to_owned(), "b".to_owned())]),
        }
    }

    fn sh(script: &str, timeout: Option<i64>, env: &[&str]) -> Hook {
        let mut hook = Hook::default();
        hook.set_path("/bin/sh".into());
        hook.set_args(Some(vec!["hook-argv0".into(), "-c".into(), script.into()]));
        hook.set_env(Some(env.iter().map(|s| (*s).to_owned()).collect()));
        hook.set_timeout(timeout);
        hook
    }

    #[test]
    fn state_on_stdin_argv0_and_exact_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().display().to_string();
        let script = format!("cat > {out}/state; echo \"$0\" > {out}/argv0; env > {out}/env");
        run_one(
            "createRuntime",
            0,
            &sh(&script, Some(5), &["FOO=bar", "EMPTY="]),
            &state(),
        )
        .expect("hook");
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect(name);
        let got: serde_json::Value = serde_json::from_str(&read("state")).expect("state JSON");
        assert_eq!(
            got,
            serde_json::json!({"ociVersion":"1.0.2","id":"hooked","status":"created","pid":42,
                               "bundle":"/b","annotations":{"a":"b"}})
        );
        assert_eq!(read("argv0").trim(), "hook-argv0");
        let env = read("env");
        assert!(
            env.lines().any(|l| l == "FOO=bar") && env.lines().any(|l| l == "EMPTY="),
            "{env}"
        );
        assert!(!env.contains("CARGO"), "the runtime's env leaked: {env}");
    }

    #[test]
    fn timeout_kills_a_sleeping_hook() {
        let t = Instant::now();
        let e =
            run_one("prestart", 2, &sh("sleep 5", Some(1), &[]), &state()).expect_err("no timeout");
        assert!(
            t.elapsed() < Duration::from_millis(1900),
            "{:?}",
            t.elapsed()
        );
        assert!(
            matches!(
                e,
                HookError::Timeout {
                    secs: 1,
                    index: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "prestart hook #2 /bin/sh: timed out after 1 s"
        );
    }

    #[test]
    fn timeout_holds_after_the_hook_closes_its_pipes() {
        let t = Instant::now();
        let script = "exec 2>&- 0<&-; sleep 5";
        let e =
            run_one("poststop", 0, &sh(script, Some(1), &[]), &state()).expect_err("no timeout");
        assert!(
            t.elapsed() < Duration::from_millis(1900),
            "{:?}",
            t.elapsed()
        );
        assert!(matches!(e, HookError::Timeout { .. }), "{e}");
    }

    #[test]
    fn exit_ends_the_wait_even_if_a_grandchild_holds_stderr() {
        let t = Instant::now();
        run_one(
            "poststart",
            0,
            &sh("sleep 3 & echo done", None, &[]),
            &state(),
        )
        .expect("hook");
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn failure_names_the_hook_and_carries_stderr() {
        let e = run_one(
            "createContainer",
            1,
            &sh("echo boom >&2; exit 3", None, &[]),
            &state(),
        )
        .expect_err("succeeded");
        let text = e.to_string();
        assert!(
            text.starts_with("createContainer hook #1 /bin/sh: "),
            "{text}"
        );
        assert!(
            text.contains("exit status: 3") && text.ends_with("stderr: boom"),
            "{text}"
        );
        let mut missing = sh("", None, &[]);
        missing.set_path("/nonexistent/hook".into());
        let e = run_one("startContainer", 0, &missing, &state()).expect_err("spawned");
        assert!(
            e.to_string()
                .starts_with("startContainer hook #0 /nonexistent/hook: start: "),
            "{e}"
        );
    }

    #[test]
    fn lists_stop_at_the_first_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mark = dir.path().join("ran");
        let hooks = [
            sh("exit 1", None, &[]),
            sh(&format!("touch {}", mark.display()), None, &[]),
        ];
        let e = run_all("createRuntime", &hooks, &state()).expect_err("succeeded");
        assert!(matches!(e, HookError::Failed { index: 0, .. }));
        assert!(!mark.exists());
        run_warn("poststop", &hooks, &state());
        assert!(mark.exists(), "a failing poststop hook stopped the rest");
    }
}
