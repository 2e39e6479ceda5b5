//! `skiff-core`: the container lifecycle of the skiff OCI runtime.
//!
//! A container is made from an OCI bundle (or an in-memory [`Spec`]) with
//! [`ContainerBuilder`], and driven through the [`Container`] handle it returns:
//! [`Container::start`], [`Container::kill`], [`Container::wait`],
//! [`Container::delete`]. Containers made by another process are found again
//! with [`Container::load`] under the same state root.
//!
//! Each container gets its own cgroups (`linux.cgroupsPath`, by default the
//! container id under the caller's cgroup, as runc's cgroupfs driver), on v1,
//! v2 or hybrid hosts: [`Container::pause`], [`Container::resume`],
//! [`Container::processes`], [`Container::stats`] (typed [`Stats`]) and
//! [`Container::update`] work on them, and `delete` removes them.
//!
//! # The init entry point
//!
//! skiff sets a container up in a fresh copy of the calling program, so that
//! nothing fork-unsafe runs between `clone` and `exec` even when the caller is
//! multithreaded. Every binary that links this crate and creates containers must
//! therefore call [`init_if_requested`] first thing in `main`:
//!
//! ```no_run
//! skiff_core::init_if_requested();
//! // ... the program's own work
//! ```
#![deny(missing_docs)]

#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench;
mod cgroups;
mod container;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hooks;
mod id;
mod launch;
mod map_tool;
mod namespaces;
mod process;
mod procfs;
mod rootfs;
mod rootless;
mod seccomp;
mod spec;
mod system;
mod tty;

pub use cgroups::{CgroupError, CgroupPaths, OomWait, OomWatcher};
/// Resource usage of a container ([`Container::stats`]), read from its
/// cgroup files; the same fields on cgroup v1 and v2 hosts.
pub use cgroups::{CgroupVersion, CpuStats, HugetlbStats, IoEntry, MemoryStats, PidsStats, Stats};
pub use container::{
    block_forwarded_signals, forward_signals_until_exit, list, parse_signal, Container,
    ContainerBuilder, ExecOptions, ExecProcess, ExitStatus, State, Status,
};
pub use error::Error;
pub use id::validate_id;
pub use launch::{init_if_requested, Stdio};
pub use oci_spec::runtime::Spec;
pub use process::listen_fds;
pub use rootfs::{mount_options, MountOptionError, MountOptions};
pub use rootless::{default_state_root, in_user_namespace, rootless_default, RootlessError};
pub use spec::{default_spec, default_spec_rootless, features};

/// The default state root, as runc's `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/skiff";
