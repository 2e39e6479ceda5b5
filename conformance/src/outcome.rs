//! What one runtime invocation did, and how it is run (timeouts, output capture).

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use serde_json::Value;

use crate::*;

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

pub(crate) fn read_all_at(file: &File) -> String {
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
