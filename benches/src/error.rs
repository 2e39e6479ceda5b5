//! Error type shared by the bench modules.

use std::path::PathBuf;

/// Everything that can go wrong while preparing or running the bench.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A filesystem or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A system call made through `nix` failed.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    /// A runtime invocation exited unsuccessfully.
    #[error("`{command}` failed ({status}){detail}")]
    Command {
        command: String,
        status: String,
        detail: String,
    },
    /// A runtime invocation did not finish in time and was killed.
    #[error("`{command}` timed out after {secs} s and was killed")]
    Timeout { command: String, secs: u64 },
    /// A binary that the bench needs could not be found.
    #[error("{name} not found (looked at {path})")]
    Missing { name: String, path: PathBuf },
    /// JSON (de)serialisation failed.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A runtime reported success but did not do what was asked.
    #[error("`{command}`: {reason}")]
    Unexpected { command: String, reason: String },
    /// The seccomp profile could not be read or converted.
    #[error("seccomp profile {0}")]
    SeccompProfile(#[from] skiff_core::bench::ProfileError),
    /// skiff's seccomp compiler refused the profile.
    #[error("skiff seccomp compiler: {0}")]
    SkiffCompile(#[source] skiff_core::bench::SeccompError),
    /// libseccomp refused the profile.
    #[error(transparent)]
    Libseccomp(#[from] skiff_core::bench::LibseccompError),
    /// A setting (flag or environment variable) has an unusable value.
    #[error("invalid {what}: {value:?}")]
    Invalid { what: String, value: String },
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Attach a description to an I/O error.
pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

/// Attach a description to a `nix` error.
pub fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Sys { what, source }
}
