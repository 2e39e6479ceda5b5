//! What P hands to I: everything the container side needs, decided up front.

use std::path::PathBuf;

use oci_spec::runtime::{Process, Spec};
use serde::{Deserialize, Serialize};

/// Whether a new container is set up or a process joins a running one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum LaunchKind {
    /// `create`: new namespaces, the rootfs, then wait for `start` on the fifo.
    Create,
    /// `exec`: join every namespace of the container whose process is `pid`.
    Exec {
        /// The container's init pid (in P's pid namespace).
        pid: i32,
    },
}

/// The launch plan: the validated spec plus what the runtime decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LaunchPlan {
    /// Create or exec.
    pub(crate) kind: LaunchKind,
    /// The container's id.
    pub(crate) id: String,
    /// The validated spec (for exec: the container's spec).
    pub(crate) spec: Spec,
    /// The process to run (for create: `spec.process`).
    pub(crate) process: Process,
    /// Absolute path of the rootfs on the host.
    pub(crate) rootfs: PathBuf,
    /// The bundle directory (for the hooks' state).
    pub(crate) bundle: PathBuf,
    /// The container's state directory (holds `exec.fifo`).
    pub(crate) state_dir: PathBuf,
    /// `--no-pivot`: chroot after moving the rootfs to `/`, not pivot_root.
    pub(crate) no_pivot: bool,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub(crate) no_new_keyring: bool,
    /// `--preserve-fds N`: fds 3..3+N pass into the container.
    pub(crate) preserve_fds: u32,
    /// The connected console socket (`--console-socket`), inherited by I.
    pub(crate) console_socket_fd: Option<i32>,
    /// The process's stdin, stdout and stderr, when not the caller's (see
    /// [`super::Stdio`]); only P uses them, to start I with them.
    #[serde(skip)]
    pub(crate) stdio: [Option<i32>; 3],
}
