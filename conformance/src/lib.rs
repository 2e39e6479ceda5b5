//! Test harness for running an OCI runtime binary (skiff, or runc to check the tests
//! themselves) on real bundles and looking at the result from inside and outside.
//!
//! The pieces:
//!
//! * [`Runtime`]: the binary under test plus a private `--root` state directory. Every verb
//!   (`run`, `create`, `start`, `state`, `kill`, `delete`, `list`, `exec`) runs with a
//!   timeout, so a test never hangs: a runtime that does not finish in time is killed with
//!   its whole process group and the call returns [`Error::Timeout`].
//! * [`Bundle`]: a temporary bundle whose rootfs has busybox and the static probe, with a
//!   runc-like `config.json` kept as a [`serde_json::Value`] that tests mutate.
//! * [`Fixture`]: both of the above, dropped in the right order.
//! * leak checks ([`Runtime::leaks`]): mounts, processes, state and cgroups left behind.
//!
//! Which binary is tested: `$RUNTIME`, else `$SKIFF_BIN`, else the workspace's
//! `target/debug/skiff`, then `target/release/skiff` (found from this crate's manifest
//! directory, so a separate `CARGO_TARGET_DIR` for the tests does not matter).
//!
//! The test process makes itself a child subreaper ([`init`]) so that container processes
//! orphaned by `create` are reparented to it; it reaps them ([`reap_orphans`]) without
//! touching the children that `std::process` is waiting for.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub mod cgroup;

/// Path of the static probe built by `build.rs`.
pub const PROBE: &str = env!("SKIFF_STATIC_PROBE");

/// The busybox copied into every rootfs.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked to busybox in `/bin` of every rootfs.
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "sleep", "true", "false", "id", "hostname", "mount", "ps", "env",
    "kill", "mkdir", "touch", "readlink", "stat", "grep", "pwd", "umask", "ulimit", "test",
];

/// Errors of the harness itself (not of the runtime under test, whose failures are
/// [`Outcome`]s for the tests to judge).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no runtime binary found (set SKIFF_BIN or RUNTIME); tried {tried:?}")]
    NoRuntime { tried: Vec<PathBuf> },
    #[error("`{command}` did not finish within {after:?}; killed it\nstdout: {stdout}\nstderr: {stderr}")]
    Timeout {
        command: String,
        after: Duration,
        stdout: String,
        stderr: String,
    },
    #[error("{what} is not valid JSON ({source}): {text:?}")]
    Json {
        what: String,
        text: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("container {id} did not reach status {wanted:?} within {after:?}; last state: {last}")]
    StatusWait {
        id: String,
        wanted: String,
        after: Duration,
        last: String,
    },
}

impl Error {
    fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

// ---------------------------------------------------------------------------------------------
// Child processes: subreaper, reaping, and the set of children std is waiting for.
// ---------------------------------------------------------------------------------------------

/// Pids of children spawned through [`Runtime`] that std's `Child` still has to wait for.
/// [`reap_orphans`] must leave those alone, and it holds this lock while reaping, so a
/// child cannot exit and be reaped between its spawn and its registration here.
static ACTIVE: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn active() -> MutexGuard<'static, Option<HashSet<u32>>> {
    ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes this process a child subreaper, once. Called by every constructor here.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if r != 0 {
            eprintln!(
                "skiff-conformance: PR_SET_CHILD_SUBREAPER failed: {}",
                std::io::Error::last_os_error()
            );
        }
    });
}

/// Reaps zombie children of this process that no `std::process::Child` owns: container
/// processes reparented to us (we are a subreaper). Returns how many were reaped.
pub fn reap_orphans() -> usize {
    let guard = active();
    let me = std::process::id();
    let mut reaped = 0;
    for (pid, ppid, state) in list_processes() {
        if ppid != me || state != 'Z' {
            continue;
        }
        if guard.as_ref().is_some_and(|set| set.contains(&pid)) {
            continue;
        }
        let Ok(raw) = libc::pid_t::try_from(pid) else {
            continue;
        };
        let mut status = 0;
        // SAFETY: waitpid on a specific pid with a valid status pointer; WNOHANG so it
        // never blocks. The pid is our zombie child and no Child handle owns it.
        let r = unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) };
        if r == raw {
            reaped += 1;
        }
    }
    reaped
}

/// (pid, ppid, state) of every process in /proc.
fn list_processes() -> Vec<(u32, u32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.filter_map(std::result::Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces and parens, so split at the last ')'.
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, state));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Outcome of one runtime invocation.
// ---------------------------------------------------------------------------------------------

/// What one runtime invocation did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// The exit code, or `None` when the runtime itself died of a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed the runtime itself, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout parsed as one JSON value (the probe's report, `state`, `list --format json`).
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(self.stdout.trim()).map_err(|source| Error::Json {
            what: format!("stdout of `{}`", self.command),
            text: self.stdout.clone(),
            source,
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> {:?} in {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// What one run of another tool (ctr, podman) did: its exit code (`None` when a
/// signal or the timeout ended it) and its output.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for ToolOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Options of one invocation beyond its arguments.
#[derive(Debug)]
pub struct Opts {
    pub timeout: Duration,
    /// Descriptors handed to the runtime as fds 3, 4, ... (for `--preserve-fds`).
    pub extra_fds: Vec<OwnedFd>,
    /// Where the runtime's stdout and stderr go; anonymous temp files when `None`.
    pub output: Option<(File, File)>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            timeout: default_timeout(),
            extra_fds: Vec::new(),
            output: None,
        }
    }
}

/// The per-command timeout: `$SKIFF_CONFORMANCE_TIMEOUT` seconds, default 30.
pub fn default_timeout() -> Duration {
    let secs = std::env::var("SKIFF_CONFORMANCE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

fn read_all_at(file: &File) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut off = 0u64;
    while let Ok(n) = file.read_at(&mut chunk, off) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        off += n as u64;
    }
    String::from_utf8_lossy(&buf).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Runtime.
// ---------------------------------------------------------------------------------------------

/// The runtime binary under test with a private state root.
#[derive(Debug)]
pub struct Runtime {
    bin: PathBuf,
    /// Holds `state/` (the `--root`) and the output files of detached containers.
    dir: tempfile::TempDir,
    created: Mutex<Vec<String>>,
    /// stdout/stderr files of containers started with `create`.
    outputs: Mutex<HashMap<String, (File, File)>>,
}

/// Finds the runtime binary: `$RUNTIME`, `$SKIFF_BIN`, then the workspace's target dir.
pub fn runtime_binary() -> Result<PathBuf> {
    for var in ["RUNTIME", "SKIFF_BIN"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(v));
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tried: Vec<PathBuf> = ["target/debug/skiff", "target/release/skiff"]
        .iter()
        .map(|p| workspace.join(p))
        .collect();
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(Error::NoRuntime { tried })
}

/// The directory temp bundles and state roots go in: `$SKIFF_CONFORMANCE_TMP` or the
/// system temp dir.
fn temp_base() -> PathBuf {
    std::env::var_os("SKIFF_CONFORMANCE_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

impl Runtime {
    pub fn new() -> Result<Self> {
        init();
        let bin = runtime_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("skiff-conf-root-")
            .tempdir_in(temp_base())
            .map_err(|e| Error::io("creating the state root", e))?;
        std::fs::create_dir(dir.path().join("state"))
            .map_err(|e| Error::io("creating the state root", e))?;
        Ok(Runtime {
            bin,
            dir,
            created: Mutex::new(Vec::new()),
            outputs: Mutex::new(HashMap::new()),
        })
    }

    /// A runtime that runs `bin` in place of the binary under test (a copy of it, for
    /// tests whose attack would damage the binary it targets).
    pub fn with_bin(bin: PathBuf) -> Result<Self> {
        let mut rt = Runtime::new()?;
        rt.bin = bin;
        Ok(rt)
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The `--root` passed to every invocation.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// True when the binary under test is runc (some checks are known to differ).
    pub fn is_runc(&self) -> bool {
        self.bin.file_name().and_then(|n| n.to_str()) == Some("runc")
    }

    fn remember(&self, id: &str) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.iter().any(|c| c == id) {
            created.push(id.to_string());
        }
    }

    /// Runs `runtime --root ROOT ARGS...` and waits for it, at most `opts.timeout`.
    pub fn invoke(&self, args: &[&str], opts: Opts) -> Result<Outcome> {
        let root = self.root();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(&root).args(args);
        let command = format!(
            "{} --root {} {}",
            self.bin.display(),
            root.display(),
            args.join(" ")
        );

        let (out, err) = match opts.output {
            Some(files) => files,
            None => (
                tempfile::tempfile().map_err(|e| Error::io("creating an output file", e))?,
                tempfile::tempfile().map_err(|e| Error::io("creating an output file", e))?,
            ),
        };
        let out_child = out
            .try_clone()
            .map_err(|e| Error::io("dup of stdout file", e))?;
        let err_child = err
            .try_clone()
            .map_err(|e| Error::io("dup of stderr file", e))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out_child))
            .stderr(Stdio::from(err_child));

        // Extra fds: moved above any target number first, so that placing one at 3+i
        // cannot clobber another that is still to be placed.
        let mut moved: Vec<OwnedFd> = Vec::new();
        for fd in &opts.extra_fds {
            // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own; no pointers.
            let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100) };
            if new < 0 {
                return Err(Error::io(
                    "dup of an extra fd",
                    std::io::Error::last_os_error(),
                ));
            }
            // SAFETY: `new` is a fresh descriptor that nothing else owns.
            moved.push(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(new) });
        }
        let raw: Vec<RawFd> = moved.iter().map(AsRawFd::as_raw_fd).collect();
        // SAFETY: the closure runs in the child between fork and exec and calls only setsid
        // and dup2, which are async-signal-safe; it only reads the captured Vec, which was
        // allocated before the fork.
        unsafe {
            cmd.pre_exec(move || {
                // A session of its own: no controlling terminal reaches the container (a
                // read of /dev/tty would stop it), and the timeout can kill the group.
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for (i, fd) in raw.iter().enumerate() {
                    let target = 3 + i as RawFd;
                    if libc::dup2(*fd, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }

        let start = Instant::now();
        let mut child = {
            let mut guard = active();
            let child = cmd
                .spawn()
                .map_err(|e| Error::io(format!("spawning {}", self.bin.display()), e))?;
            guard.get_or_insert_with(HashSet::new).insert(child.id());
            child
        };
        drop(moved);
        let pid = child.id();
        let finish = |child_pid: u32| {
            if let Some(set) = active().as_mut() {
                set.remove(&child_pid);
            }
        };

        let mut sleep = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    finish(pid);
                    return Err(Error::io(format!("waiting for `{command}`"), e));
                }
            }
            if start.elapsed() > opts.timeout {
                if let Ok(pgid) = libc::pid_t::try_from(pid) {
                    // SAFETY: kill with a negative pid signals the process group we created
                    // for this child (setsid in pre_exec); no pointers.
                    unsafe { libc::kill(-pgid, libc::SIGKILL) };
                }
                let _ = child.kill();
                let _ = child.wait();
                finish(pid);
                return Err(Error::Timeout {
                    command,
                    after: opts.timeout,
                    stdout: read_all_at(&out),
                    stderr: read_all_at(&err),
                });
            }
            std::thread::sleep(sleep);
            sleep = (sleep * 2).min(Duration::from_millis(20));
        };
        finish(pid);
        reap_orphans();
        Ok(Outcome {
            command,
            status,
            stdout: read_all_at(&out),
            stderr: read_all_at(&err),
            elapsed: start.elapsed(),
        })
    }

    /// Invokes with default options.
    pub fn cmd(&self, args: &[&str]) -> Result<Outcome> {
        self.invoke(args, Opts::default())
    }

    /// `run --bundle B ID`: writes the bundle's config first.
    pub fn run(&self, id: &str, bundle: &Bundle) -> Result<Outcome> {
        self.run_with(id, bundle, &[], Opts::default())
    }

    /// `run` with extra flags (placed before `--bundle`) and options.
    pub fn run_with(
        &self,
        id: &str,
        bundle: &Bundle,
        flags: &[&str],
        opts: Opts,
    ) -> Result<Outcome> {
        bundle.write_config()?;
        self.remember(id);
        let b = bundle.path().to_string_lossy().into_owned();
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--bundle", &b, id]);
        self.invoke(&args, opts)
    }

    /// `run` of the bundle and the probe's JSON report from stdout.
    pub fn run_probe(&self, id: &str, bundle: &Bundle) -> Result<(Outcome, Value)> {
        let out = self.run(id, bundle)?;
        let v = out.json()?;
        Ok((out, v))
    }

    /// `create --bundle B ID`. The container's stdout and stderr go to files kept for
    /// [`Runtime::output`].
    pub fn create(&self, id: &str, bundle: &Bundle) -> Result<Outcome> {
        self.create_with(id, bundle, &[])
    }

    pub fn create_with(&self, id: &str, bundle: &Bundle, flags: &[&str]) -> Result<Outcome> {
        bundle.write_config()?;
        self.remember(id);
        let out = tempfile::tempfile_in(self.dir.path())
            .map_err(|e| Error::io("creating an output file", e))?;
        let err = tempfile::tempfile_in(self.dir.path())
            .map_err(|e| Error::io("creating an output file", e))?;
        let keep = (
            out.try_clone()
                .map_err(|e| Error::io("dup of output file", e))?,
            err.try_clone()
                .map_err(|e| Error::io("dup of output file", e))?,
        );
        self.outputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), keep);
        let b = bundle.path().to_string_lossy().into_owned();
        let mut args = vec!["create"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--bundle", &b, id]);
        self.invoke(
            &args,
            Opts {
                output: Some((out, err)),
                ..Opts::default()
            },
        )
    }

    /// Everything a container made with `create` wrote so far: (stdout, stderr), including
    /// what the runtime's `create` itself printed.
    pub fn output(&self, id: &str) -> (String, String) {
        let outputs = self.outputs.lock().unwrap_or_else(|e| e.into_inner());
        match outputs.get(id) {
            Some((o, e)) => (read_all_at(o), read_all_at(e)),
            None => (String::new(), String::new()),
        }
    }

    pub fn start(&self, id: &str) -> Result<Outcome> {
        self.cmd(&["start", id])
    }

    pub fn state(&self, id: &str) -> Result<Outcome> {
        self.cmd(&["state", id])
    }

    /// `state ID` parsed; an `Err` also when the runtime failed.
    pub fn state_json(&self, id: &str) -> Result<Value> {
        self.state(id)?.json()
    }

    /// The `status` field of `state`, or `None` when `state` fails.
    pub fn status(&self, id: &str) -> Option<String> {
        reap_orphans();
        let out = self.state(id).ok()?;
        if !out.success() {
            return None;
        }
        out.json()
            .ok()?
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Polls `state` until the status is `wanted`, reaping orphans between polls.
    pub fn wait_status(&self, id: &str, wanted: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            reap_orphans();
            let out = self.state(id)?;
            if let Ok(v) = out.json() {
                if v.get("status").and_then(Value::as_str) == Some(wanted) {
                    return Ok(());
                }
            }
            last = out.to_string();
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::StatusWait {
            id: id.to_string(),
            wanted: wanted.to_string(),
            after: timeout,
            last,
        })
    }

    pub fn kill(&self, id: &str, signal: &str) -> Result<Outcome> {
        self.cmd(&["kill", id, signal])
    }

    pub fn delete(&self, id: &str) -> Result<Outcome> {
        let out = self.cmd(&["delete", id]);
        reap_orphans();
        out
    }

    pub fn delete_force(&self, id: &str) -> Result<Outcome> {
        let out = self.cmd(&["delete", "--force", id]);
        reap_orphans();
        out
    }

    pub fn list(&self) -> Result<Outcome> {
        self.cmd(&["list", "--format", "json"])
    }

    /// `exec ID ARGS...` (flags for exec go first in `args`).
    pub fn exec(&self, id: &str, flags: &[&str], args: &[&str]) -> Result<Outcome> {
        let mut all = vec!["exec"];
        all.extend_from_slice(flags);
        all.push(id);
        all.extend_from_slice(args);
        self.cmd(&all)
    }

    /// Everything a container `id` run from `bundle` may have left behind, described one
    /// line each; empty when clean. Retries for a short while since the kernel tears
    /// namespaces down asynchronously.
    pub fn leaks(&self, id: &str, bundle: &Bundle) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            reap_orphans();
            let found = self.leaks_once(id, bundle);
            if found.is_empty() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn leaks_once(&self, id: &str, bundle: &Bundle) -> Vec<String> {
        let mut found = Vec::new();
        let bpath = bundle.path().to_string_lossy().into_owned();

        for m in mounts_under(bundle.path()) {
            found.push(format!("mount left on the host: {m}"));
        }

        let token = bundle.token();
        let me = std::process::id();
        for (pid, _, _) in list_processes() {
            if pid == me {
                continue;
            }
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            let has = |hay: &[u8], needle: &str| {
                hay.windows(needle.len()).any(|w| w == needle.as_bytes())
            };
            if has(&environ, token) || has(&cmdline, &bpath) || cwd.starts_with(bundle.path()) {
                let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                found.push(format!(
                    "process left: pid {pid} `{cmd}` cwd {}",
                    cwd.display()
                ));
            }
        }

        // Only a plain name can have a state directory; for ids like "../x" joining would
        // point outside the root (the bad-id tests check that separately).
        let plain = !id.is_empty() && id != "." && id != ".." && !id.contains('/');
        let state = self.root().join(id);
        if plain && state.exists() {
            found.push(format!("state left: {}", state.display()));
        }

        for dir in cgroup_dirs_named(id).into_iter().filter(|_| plain) {
            found.push(format!("cgroup left: {}", dir.display()));
        }
        found
    }
}

impl Drop for Runtime {
    /// Force-deletes every container this runtime created, and any other state under its
    /// root, so a failing test leaves nothing running.
    fn drop(&mut self) {
        let mut ids = self.created.lock().map(|c| c.clone()).unwrap_or_default();
        if let Ok(dir) = std::fs::read_dir(self.root()) {
            for e in dir.filter_map(std::result::Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                if !ids.contains(&name) {
                    ids.push(name);
                }
            }
        }
        let quick = || Opts {
            timeout: Duration::from_secs(10),
            ..Opts::default()
        };
        for id in &ids {
            if self.root().join(id).exists() {
                let _ = self.invoke(&["kill", id, "KILL"], quick());
                let _ = self.invoke(&["delete", "--force", id], quick());
            }
        }
        reap_orphans();
        detach_mounts_under(self.dir.path());
    }
}

/// Mount points (from our mountinfo) at or below `path`, or whose source is there.
pub fn mounts_under(path: &Path) -> Vec<String> {
    let p = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(p.as_str()))
        .map(str::to_string)
        .collect()
}

/// Lazily unmounts everything mounted at or below `path`, deepest first. A safety net so
/// that removing a temp dir never walks into a leaked bind mount of the host.
fn detach_mounts_under(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| Path::new(mp).starts_with(path))
        .map(str::to_string)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for mp in &points {
        if let Ok(c) = std::ffi::CString::new(mp.as_str()) {
            // SAFETY: umount2 with a valid NUL-terminated path; no other pointers.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let left = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    !left
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| Path::new(mp).starts_with(path))
}

/// Directories in the host's cgroup hierarchies (six levels deep, so that a container's
/// cgroup under the test's own and nested cgroupsPaths are seen) whose name contains `id`.
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.filter_map(std::result::Result::ok) {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let path = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                found.push(path.clone());
            }
            if depth > 0 {
                walk(&path, id, depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 6, &mut found);
    found
}

// ---------------------------------------------------------------------------------------------
// Bundle.
// ---------------------------------------------------------------------------------------------

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A container id unique to this process and call: `skc-<tag>-<pid>-<n>`.
pub fn unique_id(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("skc-{tag}-{}-{n}", std::process::id())
}

/// A bundle in a temp dir: `config.json` plus a rootfs with busybox and the probe.
#[derive(Debug)]
pub struct Bundle {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    config: Value,
    /// When set, `config.json` was written by the test and is not regenerated.
    raw_config: bool,
    token: String,
}

/// The environment variable that marks a container's processes for the leak check.
pub const TOKEN_VAR: &str = "SKIFF_CONFORMANCE_TOKEN";

impl Bundle {
    /// A bundle whose process runs `args`.
    pub fn new(args: &[&str]) -> Result<Self> {
        init();
        let dir = tempfile::Builder::new()
            .prefix("skiff-conf-bundle-")
            .tempdir_in(temp_base())
            .map_err(|e| Error::io("creating the bundle dir", e))?;
        let path = dir.path().to_path_buf();
        let token = format!(
            "{}-{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("bundle"),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        make_rootfs(&path.join("rootfs"))?;
        let config = default_config(args, &token);
        Ok(Bundle {
            dir: Some(dir),
            path,
            config,
            raw_config: false,
            token,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rootfs(&self) -> PathBuf {
        self.path.join("rootfs")
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut Value {
        &mut self.config
    }

    /// Mutates the config with a closure; for chaining in tests.
    pub fn with(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.config);
        self
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) {
        self.config["process"]["args"] = json!(args);
    }

    /// Writes `config.json` from the current value (unless a raw config was written).
    pub fn write_config(&self) -> Result<()> {
        if self.raw_config {
            return Ok(());
        }
        let text = serde_json::to_string_pretty(&self.config).map_err(|source| Error::Json {
            what: "the bundle config".to_string(),
            text: String::new(),
            source,
        })?;
        std::fs::write(self.path.join("config.json"), text)
            .map_err(|e| Error::io("writing config.json", e))
    }

    /// Writes `config.json` verbatim; later runtime calls will not overwrite it.
    pub fn write_raw_config(&mut self, text: &str) -> Result<()> {
        self.raw_config = true;
        std::fs::write(self.path.join("config.json"), text)
            .map_err(|e| Error::io("writing config.json", e))
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if !detach_mounts_under(&self.path) {
            // Something is still mounted in the bundle: leave the directory rather than
            // risk deleting through a mount.
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!(
                    "skiff-conformance: mounts remain under {}; not removing it",
                    kept.display()
                );
            }
        }
    }
}

/// Builds a minimal rootfs: busybox with applet links, the probe, and the usual dirs.
fn make_rootfs(rootfs: &Path) -> Result<()> {
    let io = |what: &str| {
        let what = format!("{what} in {}", rootfs.display());
        move |e| Error::io(what, e)
    };
    for d in [
        "bin", "proc", "sys", "dev", "tmp", "etc", "root", "run", "var", "home",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).map_err(io("creating dirs"))?;
    }
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .map_err(io("chmod tmp"))?;
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).map_err(io("copying busybox"))?;
    std::fs::copy(PROBE, rootfs.join("bin/probe")).map_err(io("copying the probe"))?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
            .map_err(io("linking applets"))?;
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .map_err(io("writing /etc/passwd"))?;
    std::fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
    )
    .map_err(io("writing /etc/group"))?;
    Ok(())
}

/// The capabilities `runc spec` grants.
pub const DEFAULT_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// `maskedPaths` of `runc spec`.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// `readonlyPaths` of `runc spec`.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A config like `runc spec`'s, with `terminal: false`, a writable root (tests write in
/// it; `root.readonly` is tested on its own), no cgroup mount, and the leak-check token
/// in the environment.
pub fn default_config(args: &[&str], token: &str) -> Value {
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
                format!("{TOKEN_VAR}={token}"),
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS,
                "ambient": DEFAULT_CAPS,
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
            "noNewPrivileges": true,
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "skiff-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
        ],
        "linux": {
            "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Fixture and probe helpers.
// ---------------------------------------------------------------------------------------------

/// A runtime and a bundle. Fields drop in order: the runtime first (force-deleting its
/// containers), then the bundle (removing its directory).
#[derive(Debug)]
pub struct Fixture {
    pub rt: Runtime,
    pub bundle: Bundle,
}

impl Fixture {
    pub fn new(args: &[&str]) -> Result<Self> {
        Ok(Fixture {
            rt: Runtime::new()?,
            bundle: Bundle::new(args)?,
        })
    }

    /// Leaks of container `id` of this fixture.
    pub fn leaks(&self, id: &str) -> Vec<String> {
        self.rt.leaks(id, &self.bundle)
    }
}

/// Bit numbers of the capabilities, by name.
pub const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability mask of a list of names; unknown names are ignored.
pub fn cap_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| CAPS.iter().position(|c| c == n))
        .fold(0, |m, bit| m | (1u64 << bit))
}

/// A capability set from the probe's report (`"effective"`, ...), parsed from hex.
pub fn probe_caps(report: &Value, set: &str) -> Option<u64> {
    report["capabilities"][set]
        .as_str()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
}

/// The mount at `mount_point` in the probe's report (the last one, i.e. the visible one).
pub fn probe_mount<'a>(report: &'a Value, mount_point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"].as_str() == Some(mount_point))
}

/// The fd numbers in the probe's report.
pub fn probe_fds(report: &Value) -> Vec<u64> {
    report["fds"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["fd"].as_u64()).collect())
        .unwrap_or_default()
}

/// `readlink /proc/self/ns/<name>` of the test process (the host's namespaces).
pub fn host_ns(name: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Reads a whole file, for tests.
pub fn read_file(path: &Path) -> Result<String> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Terminals: the console socket (as containerd listens on it) and reading a pty master.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Children the tests spawn themselves (a runtime under a pty, under `sh -c`, ...).
// ---------------------------------------------------------------------------------------------

/// Spawns `cmd` and registers its pid so that [`reap_orphans`] (run by other threads)
/// leaves it for [`wait_spawned`].
pub fn spawn_registered(cmd: &mut Command) -> Result<std::process::Child> {
    init();
    let mut guard = active();
    let child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("spawning {cmd:?}"), e))?;
    guard.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

/// Spawns `cmd` (as [`spawn_registered`]) in a new session whose controlling terminal is
/// the slave of a fresh pty of `rows` x `cols`, on its stdin, stdout and stderr, as a
/// person's shell would run it. Returns the child and the pty master.
pub fn spawn_on_pty(
    cmd: &mut Command,
    rows: u16,
    cols: u16,
) -> Result<(std::process::Child, OwnedFd)> {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None)
        .map_err(|e| Error::io("openpty", std::io::Error::from(e)))?;
    let slave = |what: &str| {
        pty.slave
            .try_clone()
            .map_err(|e| Error::io(format!("dup the pty slave for {what}"), e))
    };
    cmd.stdin(Stdio::from(slave("stdin")?))
        .stdout(Stdio::from(slave("stdout")?))
        .stderr(Stdio::from(slave("stderr")?));
    // SAFETY: setsid and ioctl are async-signal-safe; no allocation in the closure.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = spawn_registered(cmd)?;
    // The parent keeps only the master: the slave's last copy is the child's.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    drop(pty.slave);
    Ok((child, pty.master))
}

/// Waits at most `timeout` for a child from [`spawn_registered`]; kills it (and its
/// process group when it leads one) and returns [`Error::Timeout`] when it takes longer.
pub fn wait_spawned(child: &mut std::process::Child, timeout: Duration) -> Result<ExitStatus> {
    let pid = child.id();
    let start = Instant::now();
    let result = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(Error::io("waiting for a child", e)),
        }
        if start.elapsed() > timeout {
            if let Ok(raw) = libc::pid_t::try_from(pid) {
                // SAFETY: getpgid and kill on our own child's pid; no pointers.
                unsafe {
                    if libc::getpgid(raw) == raw {
                        libc::kill(-raw, libc::SIGKILL);
                    }
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            break Err(Error::Timeout {
                command: format!("child {pid}"),
                after: timeout,
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(set) = active().as_mut() {
        set.remove(&pid);
    }
    reap_orphans();
    result
}

impl Runtime {
    /// A `Command` for `runtime --root ROOT ARGS...`, for tests that need their own stdio
    /// (a pty, inherited fds); spawn it with [`spawn_registered`]. Containers it makes are
    /// force-deleted on drop like the others (their state is under the root).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }
}
