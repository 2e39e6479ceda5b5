//! OCI hooks: run each with the container state on stdin, honouring its
//! timeout, at the moments config.md names.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    spec.hooks().as_ref().and_then(|h| pick(h).clone()).unwrap_or_default()
}

/// Whether P has hooks to run between the container's mounts and pivot_root.
pub(crate) fn has_create_runtime(spec: &Spec) -> bool {
    #[allow(deprecated)]
    let prestart = list(spec, |h| h.prestart());
    !prestart.is_empty() || !list(spec, |h| h.create_runtime()).is_empty()
}

/// prestart (deprecated, same moment) then createRuntime, in the runtime namespace.
pub(crate) fn run_prestart_and_create_runtime(spec: &Spec, state: &HookState) -> Result<(), HookError> {
    #[allow(deprecated)]
    run_all("prestart", &list(spec, |h| h.prestart()), state)?;
    run_all("createRuntime", &list(spec, |h| h.create_runtime()), state)
}

/// createContainer, in the container's namespaces before pivot_root.
pub(crate) fn run_create_container(spec: &Spec, state: &HookState) -> Result<(), HookError> {
    run_all("createContainer", &list(spec, |h| h.create_container()), state)
}

/// startContainer, in the container before the user program.
pub(crate) fn run_start_container(spec: &Spec, state: &HookState) -> Result<(), HookError> {
    run_all("startContainer", &list(spec, |h| h.start_container()), state)
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

fn run_one(kind: &'static str, index: usize, hook: &Hook, state: &HookState) -> Result<(), HookError> {
    let path = hook.path().clone();
    let spawn_err = |source| HookError::Spawn { kind, index, path: path.clone(), source };
    let mut cmd = Command::new(&path);
    if let Some(args) = hook.args() {
        if let Some((arg0, rest)) = args.split_first() {
            cmd.arg0(arg0).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let body = serde_json::to_vec(state).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(&body);
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut stderr = Vec::new();
    let mut err_pipe = child.stderr.take();
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(HookError::Timeout { kind, index, path, secs: hook.timeout().unwrap_or(0) });
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let Some(pipe) = err_pipe.as_mut() else { break };
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) | Err(nix::Error::EINTR) => continue,
            Ok(_) => {
                let mut buf = [0u8; 4096];
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => err_pipe = None,
                    Ok(n) => stderr.extend_from_slice(&buf[..n.min(buf.len())]),
                }
            }
            Err(source) => return Err(spawn_err(source.into())),
        }
    }
    let status = child.wait().map_err(spawn_err)?;
    if status.success() {
        Ok(())
    } else {
        Err(HookError::Failed {
            kind,
            index,
            path,
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
        })
    }
}
