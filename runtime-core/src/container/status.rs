//! The container's status, and which operations each status allows.

use serde::{Deserialize, Serialize};

/// The status of a container, as the OCI state's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created: the process exists but `create` has not finished.
    Creating,
    /// Created: the process waits for `start`.
    Created,
    /// The user program runs.
    Running,
    /// The container's processes are frozen.
    Paused,
    /// The container process has exited.
    Stopped,
}

impl Status {
    /// The status's name as it appears in the OCI state.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }

    /// `start` is allowed only on a created container.
    pub(crate) fn can_start(self) -> bool {
        self == Status::Created
    }

    /// `kill` needs a live process (runc also signals created containers).
    pub(crate) fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }

    /// `delete` without `--force` is allowed for created and stopped containers.
    pub(crate) fn can_delete(self) -> bool {
        matches!(self, Status::Created | Status::Stopped)
    }

    /// `exec` needs a process whose namespaces can be joined.
    pub(crate) fn can_exec(self) -> bool {
        matches!(self, Status::Created | Status::Running)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards() {
        assert!(Status::Created.can_start());
        assert!(!Status::Running.can_start() && !Status::Stopped.can_start());
        assert!(Status::Stopped.can_delete() && !Status::Running.can_delete());
        assert!(!Status::Stopped.can_kill() && Status::Created.can_kill());
    }
}
