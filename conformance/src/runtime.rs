//! [`Runtime`]: the binary under test with a private state root, one method per verb.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::*;

/// The runtime binary under test with a private state root.
#[derive(Debug)]
pub struct Runtime {
    pub(crate) bin: PathBuf,
    /// Holds `state/` (the `--root`) and the output files of detached containers.
    pub(crate) dir: tempfile::TempDir,
    pub(crate) created: Mutex<Vec<String>>,
    /// stdout/stderr files of containers started with `create`.
    pub(crate) outputs: Mutex<HashMap<String, (File, File)>>,
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
pub(crate) fn temp_base() -> PathBuf {
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
