//! Test harness for running an OCI runtime binary (skiff, or runc to check the tests
//! themselves) on real bundles and looking at the result from inside and outside.
//!
//! The pieces:
//!
//! * [`Runtime`]: the binary under test plus a private `--root` state directory. Every verb
//!   (`run`, `create`, `start`, `state`, `kill`, `delete`, `list`, `exec`) runs with a
//!   timeout, so a test never hangs: a runtime that does not finish in time is killed with
//!   its whole process group and the call returns [`Error::Timeout`].
//! * [`Bundle`]: a temporary bundle whose rootfs has busybox and the static probe, with a
//!   runc-like `config.json` kept as a [`serde_json::Value`] that tests mutate.
//! * [`Fixture`]: both of the above, dropped in the right order.
//! * leak checks ([`Runtime::leaks`]): mounts, processes, state and cgroups left behind.
//!
//! Which binary is tested: `$RUNTIME`, else `$SKIFF_BIN`, else the workspace's
//! `target/debug/skiff`, then `target/release/skiff` (found from this crate's manifest
//! directory, so a separate `CARGO_TARGET_DIR` for the tests does not matter).
//!
//! The test process makes itself a child subreaper ([`init`]) so that container processes
//! orphaned by `create` are reparented to it; it reaps them ([`reap_orphans`]) without
//! touching the children that `std::process` is waiting for.

mod bundle;
pub mod cgroup;
mod error;
mod fixture;
mod leaks;
mod outcome;
mod reaper;
mod runtime;
mod spawn;
mod terminal;

pub use bundle::*;
pub use error::*;
pub use fixture::*;
pub use leaks::*;
pub use outcome::*;
pub use reaper::*;
pub use runtime::*;
pub use spawn::*;
pub use terminal::*;
