//! The task service: containerd's `containerd.task.v2.Task` requests, each
//! done in-process with skiff-core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use containerd_shim::api::{
    CloseIORequest, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse,
    DeleteRequest, DeleteResponse, Empty, ExecProcessRequest, KillRequest, PauseRequest,
    PidsRequest, PidsResponse, ResizePtyRequest, ResumeRequest, ShutdownRequest, StartRequest,
    StartResponse, StateRequest, StateResponse, StatsRequest, StatsResponse, Status,
    UpdateTaskRequest, WaitRequest, WaitResponse,
};
use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskIO, TaskPaused, TaskResumed,
    TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::protos::shim::oci::{Options, ProcessDetails};
use containerd_shim::protos::topics::{
    TASK_CREATE_EVENT_TOPIC, TASK_DELETE_EVENT_TOPIC, TASK_EXEC_ADDED_EVENT_TOPIC,
    TASK_EXEC_STARTED_EVENT_TOPIC, TASK_PAUSED_EVENT_TOPIC, TASK_RESUMED_EVENT_TOPIC,
    TASK_START_EVENT_TOPIC,
};
use containerd_shim::protos::types::task::ProcessInfo;
use containerd_shim::{ExitSignal, TtrpcContext, TtrpcResult};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use skiff_core::{Container, ContainerBuilder, ExecOptions};

use crate::error::ShimError;
use crate::reaper;
use crate::state::{Exit, Proc, Task, Tasks};
use crate::stdio::{self, IoPaths};

/// Exit status reported for a process the shim had to kill (SIGKILL).
pub const KILLED: u32 = 128 + 9;

/// The file in the bundle that records skiff-core's state root, for the
/// `delete` action of a later shim binary.
pub const ROOT_FILE: &str = "skiff-root";

/// skiff-core's state root for `namespace`: `$SKIFF_SHIM_ROOT` (default
/// `/run/containerd/skiff`) joined with the namespace, as runc's shim uses
/// `/run/containerd/runc/<namespace>`.
pub fn default_root(namespace: &str) -> PathBuf {
    let base = std::env::var_os("SKIFF_SHIM_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/containerd/skiff"));
    base.join(namespace)
}

/// The task service of one shim process.
pub struct TaskService {
    tasks: Arc<Tasks>,
    namespace: String,
    exit: Arc<ExitSignal>,
}

mod control;
mod create;
mod delete;
mod exec;
mod kill;
mod query;
mod start;

type Res<T> = Result<T, ShimError>;

fn not_found(id: &str, exec_id: &str) -> ShimError {
    if exec_id.is_empty() {
        ShimError::NotFound(format!("task {id}"))
    } else {
        ShimError::NotFound(format!("process {exec_id} of task {id}"))
    }
}

impl TaskService {
    /// A service with an empty task table.
    pub fn new(tasks: Arc<Tasks>, namespace: String, exit: Arc<ExitSignal>) -> Self {
        Self {
            tasks,
            namespace,
            exit,
        }
    }

    fn root_of(&self, id: &str) -> Res<PathBuf> {
        self.tasks
            .lock()
            .get(id)
            .map(|t| t.root.clone())
            .ok_or_else(|| not_found(id, ""))
    }
}

/// The protobuf names of the messages the shim sends in an `Any`.
const PROCESS_DETAILS_TYPE: &str = "containerd.runc.v1.ProcessDetails";
const METRICS_TYPE: &str = "io.containerd.cgroups.v1.Metrics";
const METRICS_V2_TYPE: &str = "io.containerd.cgroups.v2.Metrics";

/// `m` in an `Any` under its protobuf type name `type_url` (written out: the
/// crate's `convert_to_any` reads it through protobuf reflection, whose
/// first use builds some 500 KB of descriptors the shim then keeps).
fn any_of(type_url: &str, m: &impl containerd_shim::protos::protobuf::Message) -> Res<Any> {
    let value = m.write_to_bytes().map_err(|e| ShimError::Invalid {
        field: "response",
        message: e.to_string(),
    })?;
    Ok(Any {
        type_url: type_url.to_owned(),
        value,
        ..Default::default()
    })
}

/// The pids in the container's cgroup, from the paths skiff-core recorded
/// in its state (just the init when it has none, or has stopped).
pub fn container_pids(c: &Container) -> Vec<i32> {
    c.processes().unwrap_or_else(|_| vec![c.pid()])
}

/// Give the heap's free pages back to the kernel after a request that
/// allocates much and briefly (the spec, its record, the launch): the shim
/// then sleeps through the container's life holding only what it still uses.
fn trim_heap() {
    // SAFETY: malloc_trim takes a size and works on malloc's own state only.
    unsafe { libc::malloc_trim(0) };
}

macro_rules! rpc {
    ($e:expr) => {
        $e.map_err(containerd_shim::protos::ttrpc::Error::from)
    };
}

impl containerd_shim::Task for TaskService {
    fn state(&self, _: &TtrpcContext, req: StateRequest) -> TtrpcResult<StateResponse> {
        rpc!(self.do_state(req))
    }

    fn create(&self, _: &TtrpcContext, req: CreateTaskRequest) -> TtrpcResult<CreateTaskResponse> {
        log::info!("create {} (bundle {})", req.id, req.bundle);
        let result = self.do_create(req);
        trim_heap();
        rpc!(result)
    }

    fn start(&self, _: &TtrpcContext, req: StartRequest) -> TtrpcResult<StartResponse> {
        let result = self.do_start(req);
        trim_heap();
        rpc!(result)
    }

    fn delete(&self, _: &TtrpcContext, req: DeleteRequest) -> TtrpcResult<DeleteResponse> {
        let result = self.do_delete(req);
        trim_heap();
        rpc!(result)
    }

    fn pids(&self, _: &TtrpcContext, req: PidsRequest) -> TtrpcResult<PidsResponse> {
        rpc!(self.do_pids(req))
    }

    fn pause(&self, _: &TtrpcContext, req: PauseRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_pause(&req.id, true).map(|()| Empty::new()))
    }

    fn resume(&self, _: &TtrpcContext, req: ResumeRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_pause(&req.id, false).map(|()| Empty::new()))
    }

    fn checkpoint(
        &self,
        _: &TtrpcContext,
        _: containerd_shim::api::CheckpointTaskRequest,
    ) -> TtrpcResult<Empty> {
        rpc!(Err::<Empty, _>(ShimError::Unimplemented("checkpoint")))
    }

    fn kill(&self, _: &TtrpcContext, req: KillRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_kill(req).map(|()| Empty::new()))
    }

    fn exec(&self, _: &TtrpcContext, req: ExecProcessRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_exec(req).map(|()| Empty::new()))
    }

    fn resize_pty(&self, _: &TtrpcContext, req: ResizePtyRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_resize(req).map(|()| Empty::new()))
    }

    fn close_io(&self, _: &TtrpcContext, req: CloseIORequest) -> TtrpcResult<Empty> {
        rpc!(self.do_close_io(req).map(|()| Empty::new()))
    }

    fn update(&self, _: &TtrpcContext, req: UpdateTaskRequest) -> TtrpcResult<Empty> {
        rpc!(self.do_update(req).map(|()| Empty::new()))
    }

    fn wait(&self, _: &TtrpcContext, req: WaitRequest) -> TtrpcResult<WaitResponse> {
        rpc!(self.do_wait(req))
    }

    fn stats(&self, _: &TtrpcContext, req: StatsRequest) -> TtrpcResult<StatsResponse> {
        rpc!(self.do_stats(req))
    }

    fn connect(&self, _: &TtrpcContext, req: ConnectRequest) -> TtrpcResult<ConnectResponse> {
        let task_pid = self
            .tasks
            .lock()
            .get(&req.id)
            .map(|t| t.init.pid.max(0) as u32)
            .unwrap_or(0);
        Ok(ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        })
    }

    fn shutdown(&self, _: &TtrpcContext, req: ShutdownRequest) -> TtrpcResult<Empty> {
        if req.now || self.tasks.lock().is_empty() {
            self.exit.signal();
        }
        Ok(Empty::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim::protos::protobuf::MessageFull;

    #[test]
    fn any_type_names_are_the_protobuf_names() {
        assert_eq!(
            PROCESS_DETAILS_TYPE,
            ProcessDetails::descriptor().full_name()
        );
        assert_eq!(
            METRICS_TYPE,
            containerd_shim::protos::cgroups::metrics::Metrics::descriptor().full_name()
        );
        assert_eq!(
            METRICS_V2_TYPE,
            containerd_shim::protos::cgroups_v2::metrics::Metrics::descriptor().full_name()
        );
    }
}
