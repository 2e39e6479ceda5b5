//! The messages of the launch handshake (see the module diagram).

use serde::{Deserialize, Serialize};

use super::plan::LaunchPlan;

/// One message on the launch channel.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Message {
    /// P → I: what to launch.
    Plan(Box<LaunchPlan>),
    /// I → P: the container process's pid, in P's pid namespace.
    Pid(i32),
    /// P → C (create with a user namespace): its id maps are written and
    /// exec.fifo belongs to its root.
    UserNsReady,
    /// C → P: the container's namespaces and mounts exist; run the prestart
    /// and createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// P → C: those hooks succeeded.
    HooksDone,
    /// C → P: everything up to the user process is done.
    Ready,
    /// I or C → P: a step failed.
    Failed {
        /// What was being done, e.g. `mount /proc`.
        step: String,
        /// The cause.
        message: String,
    },
}

impl Message {
    /// The message's name, for errors about unexpected messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Message::Plan(_) => "Plan",
            Message::Pid(_) => "Pid",
            Message::UserNsReady => "UserNsReady",
            Message::RunCreateRuntimeHooks => "RunCreateRuntimeHooks",
            Message::HooksDone => "HooksDone",
            Message::Ready => "Ready",
            Message::Failed { .. } => "Failed",
        }
    }
}
