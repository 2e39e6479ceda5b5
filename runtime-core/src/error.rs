//! The library's error type: one variant per module that can fail.

use crate::cgroups::CgroupError;
use crate::container::StateError;
use crate::hooks::HookError;
use crate::id::IdError;
use crate::launch::LaunchError;
use crate::spec::SpecError;

/// Everything that can go wrong in a container operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id was refused.
    #[error(transparent)]
    Id(#[from] IdError),
    /// config.json (or the in-memory spec) is malformed or invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The container's state could not be read, written or acted on.
    #[error(transparent)]
    State(#[from] StateError),
    /// Starting the container process failed.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// A cgroup could not be made, configured, read or removed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// An unprivileged caller cannot run this (no state root, or a spec
    /// that needs root).
    #[error(transparent)]
    Rootless(#[from] crate::rootless::RootlessError),
}

impl Error {
    /// Whether the error says that no container has the id asked for.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::State(crate::container::StateError::NotFound(_))
        )
    }
}
