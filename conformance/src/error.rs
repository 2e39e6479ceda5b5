//! Errors of the harness itself.

use std::path::PathBuf;
use std::time::Duration;

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
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
