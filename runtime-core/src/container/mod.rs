//! Containers: the handle, its state, and one file per verb.

mod builder;
mod create;
mod delete;
mod exec;
mod kill;
mod list;
mod pause;
mod processes;
mod record;
mod resume;
mod start;
mod stats;
mod status;
mod update;
mod wait;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use builder::ContainerBuilder;
pub use exec::{ExecOptions, ExecProcess};
#[cfg(test)]
pub(crate) use record::proc_stat;
pub(crate) use record::Record;
pub use status::Status;
pub use wait::ExitStatus;

use crate::Error;

/// Why a container's state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No container has this id under the state root.
    #[error("container {0} does not exist")]
    NotFound(String),
    /// A container with this id exists already.
    #[error("container with id {0} already exists")]
    Exists(String),
    /// The operation is not allowed in the container's status. A stopped
    /// container reads "container not running", runc's words, which
    /// containerd's runc shim matches to turn a kill of an exited task into
    /// "process already finished: not found".
    #[error("cannot {op} container {id}: {}", status_text(*status))]
    WrongStatus {
        /// The container.
        id: String,
        /// What was asked.
        op: &'static str,
        /// Its status.
        status: Status,
    },
    /// A file of the state directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// state.json did not decode.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// state.json could not be encoded.
    #[error("encode state: {0}")]
    Encode(serde_json::Error),
    /// A system call on the container process failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The cause.
        source: nix::Error,
    },
    /// A signal name or number that does not exist.
    #[error("unknown signal {0:?}")]
    UnknownSignal(String),
    /// The operation needs the container's cgroups, and none are recorded
    /// (a container created by an older skiff).
    #[error("cannot {op} container {id}: it has no recorded cgroup")]
    NoCgroup {
        /// The container.
        id: String,
        /// What was asked.
        op: &'static str,
    },
}

/// The OCI state of a container (runtime.md), with runc's extra fields.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The spec version the container was created from.
    pub oci_version: String,
    /// The container's id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// The container process's pid on the host (0 once stopped).
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The rootfs directory.
    pub rootfs: PathBuf,
    /// When it was created (RFC 3339).
    pub created: String,
    /// Who created it.
    pub owner: String,
    /// The spec's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// A handle on one container under a state root.
#[derive(Debug)]
pub struct Container {
    root: PathBuf,
    dir: PathBuf,
    record: Record,
}

impl Container {
    /// Find the container `id` under the state root `root`.
    pub fn load(root: impl AsRef<Path>, id: &str) -> Result<Self, Error> {
        crate::id::validate_id(id)?;
        let root = root.as_ref().to_owned();
        let dir = record::dir(&root, id);
        let record = record::read(&dir, id)?;
        Ok(Self { root, dir, record })
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The container process's pid on the host.
    pub fn pid(&self) -> i32 {
        self.record.pid
    }

    /// The spec the container was created from.
    pub fn spec(&self) -> &oci_spec::runtime::Spec {
        &self.record.spec
    }

    /// Where the container's cgroups are (empty for a container created by
    /// a skiff that did not record them).
    pub fn cgroup_paths(&self) -> &crate::CgroupPaths {
        &self.record.cgroups
    }

    /// The recorded cgroups, or an error naming `op` when there are none.
    fn cgroups(&self, op: &'static str) -> Result<&crate::CgroupPaths, StateError> {
        if self.record.cgroups.is_empty() {
            return Err(StateError::NoCgroup {
                id: self.record.id.clone(),
                op,
            });
        }
        Ok(&self.record.cgroups)
    }

    /// The state root this container lives under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The container's live status.
    pub fn status(&self) -> Status {
        record::status(&self.dir, &self.record)
    }

    /// The container's OCI state.
    pub fn state(&self) -> State {
        let status = self.status();
        let r = &self.record;
        State {
            oci_version: r.spec.version().clone(),
            id: r.id.clone(),
            status,
            pid: if status == Status::Stopped { 0 } else { r.pid },
            bundle: r.bundle.clone(),
            rootfs: r.rootfs.clone(),
            created: r.created.clone(),
            owner: r.owner.clone(),
            annotations: r.annotations.clone(),
        }
    }

    fn require(&self, ok: fn(Status) -> bool, op: &'static str) -> Result<Status, StateError> {
        let status = self.status();
        if ok(status) {
            Ok(status)
        } else {
            Err(StateError::WrongStatus {
                id: self.record.id.clone(),
                op,
                status,
            })
        }
    }
}

/// How `WrongStatus` names a status.
fn status_text(status: Status) -> String {
    match status {
        Status::Stopped => "container not running (stopped)".to_owned(),
        other => format!("container is {other}"),
    }
}

pub use kill::parse_signal;
pub use list::list;
pub use wait::{block_forwarded_signals, forward_signals_until_exit};
