//! Why a cgroup operation failed. Every variant names the spec field or the
//! cgroup file involved.

use std::path::PathBuf;

/// A cgroup could not be made, configured, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A `linux.resources` value or `linux.cgroupsPath` is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The spec field, as `linux.resources.memory.limit`.
        field: String,
        /// Why it was refused.
        reason: String,
    },
    /// The spec asks for a controller this host does not have.
    #[error("{field}: the host has no {controller} cgroup controller")]
    NoController {
        /// The spec field that needs it.
        field: String,
        /// The controller.
        controller: String,
    },
    /// The controller exists but not the file this setting needs.
    #[error("{field}: the host's cgroups have no {file} (kernel option or I/O scheduler missing)")]
    NoFile {
        /// The spec field.
        field: String,
        /// The cgroup file.
        file: String,
    },
    /// No cgroup filesystem is mounted.
    #[error("no cgroup hierarchy is mounted")]
    NotMounted,
    /// The cgroup exists and may not be reused.
    #[error(
        "linux.cgroupsPath: cgroup {path} is {why} (another container's?): refusing to reuse it"
    )]
    InUse {
        /// The cgroup directory.
        path: PathBuf,
        /// `frozen` or `populated`.
        why: &'static str,
    },
    /// A cgroup file or directory operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was done: `write`, `read`, `mkdir`, `rmdir`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a setting failed; names the spec field and the value.
    #[error("{field}: write {value:?} to {path}: {source}")]
    Write {
        /// The spec field.
        field: String,
        /// The value written.
        value: String,
        /// The cgroup file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A cgroup file did not have the expected format.
    #[error("{path}: cannot parse {text:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending text.
        text: String,
    },
    /// The freezer did not reach the wanted state in time.
    #[error("{path}: still {state} after waiting")]
    FreezeTimeout {
        /// The cgroup.
        path: PathBuf,
        /// The state it was stuck in.
        state: String,
    },
    /// A cgroup could not be removed in time (processes still in it).
    #[error("rmdir {path}: still busy after retrying")]
    Busy {
        /// The cgroup.
        path: PathBuf,
    },
    /// A bpf(2) step of the v2 device filter failed.
    #[error("bpf {op}: {source}{}", verifier_log(.log))]
    Bpf {
        /// The step: `load`, `attach`, `query`, `detach`.
        op: &'static str,
        /// The cause.
        source: nix::Error,
        /// The verifier log, when loading failed.
        log: String,
    },
    /// Rootless: the container needs a cgroup (the spec asks for limits, or
    /// names its cgroupsPath) and the caller may not make or use it.
    #[error(
        "{field} needs a cgroup, and this rootless caller may not use {path} ({source}): \
         remove {field} or give the caller a writable (delegated) cgroup"
    )]
    RootlessDenied {
        /// The spec field that needs the cgroup.
        field: String,
        /// The cgroup directory or file that was refused.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Signalling a process of the cgroup failed.
    #[error("kill {pid}: {source}")]
    Kill {
        /// The process.
        pid: i32,
        /// The cause.
        source: nix::Error,
    },
}

impl CgroupError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl CgroupError {
    /// For a failure caused by missing permission (EACCES, EPERM, EROFS):
    /// the path refused and the cause, taken out of the error.
    pub(crate) fn into_denied(self) -> Result<(PathBuf, std::io::Error), Self> {
        let denied = |e: &std::io::Error| {
            matches!(
                e.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            )
        };
        match self {
            Self::Io { path, source, .. } | Self::Write { path, source, .. } if denied(&source) => {
                Ok((path, source))
            }
            other => Err(other),
        }
    }
}

/// The verifier's log, when there is one, on lines after the error.
fn verifier_log(log: &str) -> String {
    let log = log.trim();
    if log.is_empty() {
        String::new()
    } else {
        format!(" (verifier: {})", log.replace('\n', "; "))
    }
}
