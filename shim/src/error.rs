//! The shim's errors, and the ttrpc status each becomes for containerd.

use containerd_shim::protos::ttrpc;

/// Why a task request failed.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// No task or process with this id.
    #[error("{0}: not found")]
    NotFound(String),
    /// A task with this id exists already.
    #[error("task {0} already exists")]
    Exists(String),
    /// The process is not in a state that allows the request.
    #[error("{0}")]
    Precondition(String),
    /// A request field is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// skiff-core refused or failed.
    #[error(transparent)]
    Core(#[from] skiff_core::Error),
    /// A file or stream failed.
    #[error("{what}: {source}")]
    Io {
        /// The file or stream.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Mounting the rootfs failed.
    #[error("mount rootfs {target}: {source}")]
    Mount {
        /// The mount point.
        target: String,
        /// The cause.
        source: nix::Error,
    },
    /// Not implemented by this shim.
    #[error("{0} is not implemented by the skiff shim")]
    Unimplemented(&'static str),
}

impl ShimError {
    /// An I/O failure on `what`.
    pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ShimError {
        let what = what.to_string();
        move |source| ShimError::Io { what, source }
    }
}

impl From<ShimError> for ttrpc::Error {
    fn from(e: ShimError) -> Self {
        let code = match &e {
            ShimError::NotFound(_) => ttrpc::Code::NOT_FOUND,
            ShimError::Exists(_) => ttrpc::Code::ALREADY_EXISTS,
            ShimError::Precondition(_) => ttrpc::Code::FAILED_PRECONDITION,
            ShimError::Invalid { .. } => ttrpc::Code::INVALID_ARGUMENT,
            ShimError::Unimplemented(_) => ttrpc::Code::UNIMPLEMENTED,
            ShimError::Core(e) if e.is_not_found() => ttrpc::Code::NOT_FOUND,
            ShimError::Core(_) | ShimError::Io { .. } | ShimError::Mount { .. } => {
                ttrpc::Code::UNKNOWN
            }
        };
        log::warn!("request failed: {e}");
        ttrpc::Error::RpcStatus(ttrpc::get_status(code, e.to_string()))
    }
}
