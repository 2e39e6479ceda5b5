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

type Res<T> = Result<T, ShimError>;

fn not_found(id: &str, exec_id: &str) -> ShimError {
    if exec_id.is_empty() {
        ShimError::NotFound(format!("task {id}"))
    } else {
        ShimError::NotFound(format!("process {exec_id} of task {id}"))
    }
}

fn status_of(s: skiff_core::Status) -> Status {
    match s {
        skiff_core::Status::Creating | skiff_core::Status::Created => Status::CREATED,
        skiff_core::Status::Running => Status::RUNNING,
        skiff_core::Status::Paused => Status::PAUSED,
        skiff_core::Status::Stopped => Status::STOPPED,
    }
}

fn signal(n: u32) -> Res<Signal> {
    i32::try_from(n)
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .ok_or_else(|| ShimError::Invalid {
            field: "signal",
            message: format!("{n} is not a signal"),
        })
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

    fn do_create(&self, req: CreateTaskRequest) -> Res<CreateTaskResponse> {
        let id = req.id.clone();
        if self.tasks.lock().contains_key(&id) {
            return Err(ShimError::Exists(id));
        }
        if !req.checkpoint.is_empty() {
            return Err(ShimError::Unimplemented("restore from checkpoint"));
        }
        let bundle = PathBuf::from(&req.bundle);
        let root = match req.options.as_ref() {
            Some(any) if any.type_url.ends_with("containerd.runc.v1.Options") => {
                use containerd_shim::protos::protobuf::Message;
                let opts =
                    Options::parse_from_bytes(&any.value).map_err(|e| ShimError::Invalid {
                        field: "options",
                        message: e.to_string(),
                    })?;
                if opts.root.is_empty() {
                    default_root(&self.namespace)
                } else {
                    PathBuf::from(opts.root).join(&self.namespace)
                }
            }
            _ => default_root(&self.namespace),
        };
        std::fs::create_dir_all(&root).map_err(ShimError::io(root.display()))?;
        let root_file = bundle.join(ROOT_FILE);
        std::fs::write(&root_file, root.as_os_str().as_encoded_bytes())
            .map_err(ShimError::io(root_file.display()))?;
        let mounted = crate::rootfs::mount_all(&req.rootfs, &bundle)?;
        let result = self.create_in(&req, &bundle, &root, mounted);
        if result.is_err() && mounted {
            crate::rootfs::unmount_all(&bundle);
        }
        result
    }

    fn create_in(
        &self,
        req: &CreateTaskRequest,
        bundle: &Path,
        root: &Path,
        mounted: bool,
    ) -> Res<CreateTaskResponse> {
        let paths = IoPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let mut prepared = stdio::prepare(&paths)?;
        let mut builder = ContainerBuilder::new(&req.id, root)
            .bundle(bundle)
            .stdio(std::mem::take(&mut prepared.stdio));
        if let Some(fd) = prepared.console_theirs.take() {
            builder = builder.console_socket_fd(fd);
        }
        let _gate = reaper::hold();
        let container = builder.create()?;
        let pid = container.pid();
        let io = match prepared.finish() {
            Ok(io) => io,
            Err(e) => {
                let _ = container.delete(true);
                return Err(e);
            }
        };
        let oom_done = crate::oom::watch(req.id.clone(), pid, self.tasks.events().clone());
        let mut map = self.tasks.lock();
        map.insert(
            req.id.clone(),
            Task {
                bundle: bundle.to_owned(),
                root: root.to_owned(),
                mounted_rootfs: mounted,
                init: Proc::new(pid, paths.clone(), io),
                execs: HashMap::new(),
                oom_done,
            },
        );
        self.tasks.events().send(
            TASK_CREATE_EVENT_TOPIC,
            TaskCreate {
                container_id: req.id.clone(),
                bundle: req.bundle.clone(),
                rootfs: req.rootfs.clone(),
                io: Some(TaskIO {
                    stdin: paths.stdin,
                    stdout: paths.stdout,
                    stderr: paths.stderr,
                    terminal: paths.terminal,
                    ..Default::default()
                })
                .into(),
                checkpoint: req.checkpoint.clone(),
                pid: pid as u32,
                ..Default::default()
            },
        );
        Ok(CreateTaskResponse {
            pid: pid as u32,
            ..Default::default()
        })
    }

    fn do_start(&self, req: StartRequest) -> Res<StartResponse> {
        let root = self.root_of(&req.id)?;
        if req.exec_id.is_empty() {
            let _gate = reaper::hold();
            let mut c = Container::load(&root, &req.id)?;
            c.start()?;
            let pid = c.pid();
            self.tasks.events().send(
                TASK_START_EVENT_TOPIC,
                TaskStart {
                    container_id: req.id.clone(),
                    pid: pid as u32,
                    ..Default::default()
                },
            );
            return Ok(StartResponse {
                pid: pid as u32,
                ..Default::default()
            });
        }
        let (process, paths) = {
            let mut map = self.tasks.lock();
            let p = map
                .get_mut(&req.id)
                .and_then(|t| t.execs.get_mut(&req.exec_id))
                .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
            let process = p.pending.take().ok_or_else(|| {
                ShimError::Precondition(format!("process {} was started already", req.exec_id))
            })?;
            (process, p.paths.clone())
        };
        let mut prepared = stdio::prepare(&paths)?;
        let mut opts = ExecOptions::new(process);
        opts.stdio = std::mem::take(&mut prepared.stdio);
        opts.console_fd = prepared.console_theirs.take();
        let _gate = reaper::hold();
        let c = Container::load(&root, &req.id)?;
        let process = c.exec(opts)?;
        let pid = process.pid();
        let io = match prepared.finish() {
            Ok(io) => io,
            Err(e) => {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                return Err(e);
            }
        };
        let mut map = self.tasks.lock();
        if let Some(p) = map
            .get_mut(&req.id)
            .and_then(|t| t.execs.get_mut(&req.exec_id))
        {
            p.pid = pid;
            p.io = io;
        }
        self.tasks.events().send(
            TASK_EXEC_STARTED_EVENT_TOPIC,
            TaskExecStarted {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                pid: pid as u32,
                ..Default::default()
            },
        );
        Ok(StartResponse {
            pid: pid as u32,
            ..Default::default()
        })
    }

    fn do_delete(&self, req: DeleteRequest) -> Res<DeleteResponse> {
        if !req.exec_id.is_empty() {
            let mut map = self.tasks.lock();
            let task = map.get_mut(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
            let p = task
                .execs
                .get(&req.exec_id)
                .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
            if p.running() {
                return Err(ShimError::Precondition(format!(
                    "cannot delete process {}: it is running",
                    req.exec_id
                )));
            }
            let p = task.execs.remove(&req.exec_id).unwrap_or_default();
            self.tasks.notify();
            return Ok(delete_response(&p));
        }
        let _gate = reaper::hold();
        let (root, running, pid) = {
            let map = self.tasks.lock();
            let task = map.get(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
            (task.root.clone(), task.init.running(), task.init.pid)
        };
        let mut status = None;
        match Container::load(&root, &req.id) {
            Ok(c) => {
                let now = c.status();
                if running
                    && matches!(
                        now,
                        skiff_core::Status::Running | skiff_core::Status::Paused
                    )
                {
                    return Err(ShimError::Precondition(format!(
                        "cannot delete task {}: it is running",
                        req.id
                    )));
                }
                if now != skiff_core::Status::Stopped {
                    // Created, never started: end it here, by its cgroup
                    // (skiff-core's forced delete signals the whole pid
                    // namespace, which a pod member shares with its sandbox).
                    status = kill_created(&c, pid);
                }
                c.delete(true)?;
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        // The reaper is held off: reap the init here if it has ended and
        // was not reaped yet; skiff-core reaped it if it killed it.
        if running && status.is_none() {
            status = reap_now(pid, Some(WaitPidFlag::WNOHANG));
        }
        let mut map = self.tasks.lock();
        if running {
            self.tasks
                .exited_elsewhere(&mut map, &req.id, status.unwrap_or(KILLED));
        }
        let mut task = map.remove(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
        drop(map);
        // The cgroup is gone: let the OOM watch report a late OOM before
        // TaskDelete (it ends at once now).
        if let Some(done) = task.oom_done.take() {
            let _ = done.recv_timeout(std::time::Duration::from_secs(2));
        }
        if task.mounted_rootfs {
            crate::rootfs::unmount_all(&task.bundle);
        }
        let _ = std::fs::remove_file(task.bundle.join(ROOT_FILE));
        let resp = delete_response(&task.init);
        self.tasks.events().send(
            TASK_DELETE_EVENT_TOPIC,
            TaskDelete {
                container_id: req.id.clone(),
                id: req.id.clone(),
                pid: resp.pid,
                exit_status: resp.exit_status,
                exited_at: resp.exited_at.clone(),
                ..Default::default()
            },
        );
        self.tasks.notify();
        Ok(resp)
    }

    fn do_kill(&self, req: KillRequest) -> Res<()> {
        let sig = signal(req.signal)?;
        let root = {
            let map = self.tasks.lock();
            let task = map.get(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
            let p = task
                .proc(&req.exec_id)
                .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
            if p.exit.is_some() {
                return Err(ShimError::NotFound("process already finished".into()));
            }
            if !req.exec_id.is_empty() {
                if p.pid <= 0 {
                    return Err(ShimError::Precondition(format!(
                        "process {} is not started",
                        req.exec_id
                    )));
                }
                // Not reaped yet (the reaper records under this lock), so
                // the pid is still this process's.
                return match nix::sys::signal::kill(Pid::from_raw(p.pid), sig) {
                    Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
                    Err(e) => Err(ShimError::io(format!("kill {}", p.pid))(e.into())),
                };
            }
            task.root.clone()
        };
        let c = Container::load(&root, &req.id)?;
        if c.status() == skiff_core::Status::Stopped {
            return Err(ShimError::NotFound("process already finished".into()));
        }
        c.kill(sig, false)?;
        if req.all {
            // Every process of the container's cgroup, as runc does: the
            // container may share a pid namespace with others (a pod), so
            // skiff-core's `kill(_, true)`, which signals the whole pid
            // namespace, would reach them too.
            for pid in container_pids(&c) {
                if pid != c.pid() {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
                }
            }
        }
        Ok(())
    }

    fn do_exec(&self, req: ExecProcessRequest) -> Res<()> {
        let spec = req.spec.as_ref().ok_or(ShimError::Invalid {
            field: "spec",
            message: "no process spec".into(),
        })?;
        let process: oci_spec::runtime::Process =
            serde_json::from_slice(&spec.value).map_err(|e| ShimError::Invalid {
                field: "spec",
                message: e.to_string(),
            })?;
        let mut map = self.tasks.lock();
        let task = map.get_mut(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
        if !task.init.running() {
            return Err(ShimError::Precondition(format!(
                "cannot exec in task {}: it is not running",
                req.id
            )));
        }
        if req.exec_id.is_empty() || task.execs.contains_key(&req.exec_id) {
            return Err(ShimError::Exists(format!("process {}", req.exec_id)));
        }
        let mut p = Proc::new(
            0,
            IoPaths {
                stdin: req.stdin.clone(),
                stdout: req.stdout.clone(),
                stderr: req.stderr.clone(),
                terminal: req.terminal,
            },
            Default::default(),
        );
        p.pending = Some(process);
        task.execs.insert(req.exec_id.clone(), p);
        self.tasks.events().send(
            TASK_EXEC_ADDED_EVENT_TOPIC,
            TaskExecAdded {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            },
        );
        Ok(())
    }

    fn do_state(&self, req: StateRequest) -> Res<StateResponse> {
        let map = self.tasks.lock();
        let task = map.get(&req.id).ok_or_else(|| not_found(&req.id, ""))?;
        let p = task
            .proc(&req.exec_id)
            .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
        let status = if p.exit.is_some() {
            Status::STOPPED
        } else if p.pid <= 0 {
            Status::CREATED
        } else if !req.exec_id.is_empty() {
            Status::RUNNING
        } else {
            match Container::load(&task.root, &req.id) {
                Ok(c) => status_of(c.status()),
                Err(_) => Status::STOPPED,
            }
        };
        let exit = p.exit.clone();
        Ok(StateResponse {
            id: if req.exec_id.is_empty() {
                req.id.clone()
            } else {
                req.exec_id.clone()
            },
            bundle: task.bundle.display().to_string(),
            pid: p.pid.max(0) as u32,
            status: status.into(),
            stdin: p.paths.stdin.clone(),
            stdout: p.paths.stdout.clone(),
            stderr: p.paths.stderr.clone(),
            terminal: p.paths.terminal,
            exit_status: exit.as_ref().map(|e| e.status).unwrap_or(0),
            exited_at: exit.map(|e| e.at).into(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
    }

    fn do_wait(&self, req: WaitRequest) -> Res<WaitResponse> {
        let exit = self.tasks.wait_until(|map| {
            match map.get(&req.id).and_then(|t| t.proc(&req.exec_id)) {
                None => Some(None),
                Some(p) => p.exit.clone().map(Some),
            }
        });
        let exit: Exit = exit.ok_or_else(|| not_found(&req.id, &req.exec_id))?;
        Ok(WaitResponse {
            exit_status: exit.status,
            exited_at: Some(exit.at).into(),
            ..Default::default()
        })
    }

    fn do_pids(&self, req: PidsRequest) -> Res<PidsResponse> {
        let root = self.root_of(&req.id)?;
        let pids = container_pids(&Container::load(&root, &req.id)?);
        let execs: HashMap<i32, String> = self
            .tasks
            .lock()
            .get(&req.id)
            .map(|t| {
                t.execs
                    .iter()
                    .filter(|(_, p)| p.pid > 0)
                    .map(|(id, p)| (p.pid, id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut processes = Vec::with_capacity(pids.len());
        for pid in pids {
            let mut info = ProcessInfo {
                pid: pid as u32,
                ..Default::default()
            };
            if let Some(exec_id) = execs.get(&pid) {
                let details = ProcessDetails {
                    exec_id: exec_id.clone(),
                    ..Default::default()
                };
                info.info = MessageField::some(any_of(Box::new(details))?);
            }
            processes.push(info);
        }
        Ok(PidsResponse {
            processes,
            ..Default::default()
        })
    }

    fn do_pause(&self, id: &str, pause: bool) -> Res<()> {
        let root = self.root_of(id)?;
        let c = Container::load(&root, id)?;
        if pause {
            c.pause()?;
            self.tasks.events().send(
                TASK_PAUSED_EVENT_TOPIC,
                TaskPaused {
                    container_id: id.to_owned(),
                    ..Default::default()
                },
            );
        } else {
            c.resume()?;
            self.tasks.events().send(
                TASK_RESUMED_EVENT_TOPIC,
                TaskResumed {
                    container_id: id.to_owned(),
                    ..Default::default()
                },
            );
        }
        Ok(())
    }

    /// New resources for a running container: containerd sends the OCI
    /// `LinuxResources` as JSON in an Any; skiff-core merges them with the
    /// recorded ones, checks them and writes what changed.
    fn do_update(&self, req: UpdateTaskRequest) -> Res<()> {
        let resources = resources_of(&req)?;
        let root = self.root_of(&req.id)?;
        Container::load(&root, &req.id)?.update(&resources)?;
        Ok(())
    }

    fn do_stats(&self, req: StatsRequest) -> Res<StatsResponse> {
        let root = self.root_of(&req.id)?;
        let stats = Container::load(&root, &req.id)?.stats()?;
        let metrics = crate::metrics::to_metrics(&stats);
        Ok(StatsResponse {
            stats: MessageField::some(any_of(Box::new(metrics))?),
            ..Default::default()
        })
    }

    fn do_close_io(&self, req: CloseIORequest) -> Res<()> {
        let mut map = self.tasks.lock();
        let p = map
            .get_mut(&req.id)
            .and_then(|t| t.proc_mut(&req.exec_id))
            .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
        if req.stdin {
            if let Some(w) = p.io.stdin.take() {
                w.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
        }
        Ok(())
    }

    fn do_resize(&self, req: ResizePtyRequest) -> Res<()> {
        let console = {
            let map = self.tasks.lock();
            let p = map
                .get(&req.id)
                .and_then(|t| t.proc(&req.exec_id))
                .ok_or_else(|| not_found(&req.id, &req.exec_id))?;
            p.io.console
                .clone()
                .ok_or_else(|| ShimError::Precondition("the process has no terminal".into()))?
        };
        stdio::resize(&console, req.width, req.height)
    }
}

fn any_of(m: Box<dyn containerd_shim::protos::protobuf::MessageDyn>) -> Res<Any> {
    containerd_shim::util::convert_to_any(m).map_err(|e| ShimError::Invalid {
        field: "response",
        message: e.to_string(),
    })
}

/// The pids in the container's cgroup, from the paths skiff-core recorded
/// in its state (just the init when it has none, or has stopped).
pub fn container_pids(c: &Container) -> Vec<i32> {
    c.processes().unwrap_or_else(|_| vec![c.pid()])
}

/// Reap `pid` (our child) if it has ended: its status as containerd wants it.
fn reap_now(pid: i32, flags: Option<WaitPidFlag>) -> Option<u32> {
    match waitpid(Pid::from_raw(pid), flags) {
        Ok(WaitStatus::Exited(_, code)) => Some(code as u32),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(128 + sig as i32 as u32),
        _ => None,
    }
}

/// SIGKILL every process of the created container whose init is `pid`
/// and reap the init (our child; the caller holds the reaper off).
fn kill_created(c: &Container, pid: i32) -> Option<u32> {
    for p in container_pids(c) {
        let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
    }
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    reap_now(pid, None)
}

fn delete_response(p: &Proc) -> DeleteResponse {
    let exit = p.exit.clone().unwrap_or_else(|| Exit::now(0));
    DeleteResponse {
        pid: p.pid.max(0) as u32,
        exit_status: exit.status,
        exited_at: Some(exit.at).into(),
        ..Default::default()
    }
}

macro_rules! rpc {
    ($e:expr) => {
        $e.map_err(containerd_shim::protos::ttrpc::Error::from)
    };
}

/// The OCI `LinuxResources` of an Update request (JSON in an Any, as
/// containerd's typeurl marshals the runtime-spec types).
fn resources_of(req: &UpdateTaskRequest) -> Res<oci_spec::runtime::LinuxResources> {
    let any = req.resources.as_ref().ok_or(ShimError::Invalid {
        field: "resources",
        message: "missing".into(),
    })?;
    serde_json::from_slice(&any.value).map_err(|e| ShimError::Invalid {
        field: "resources",
        message: format!("not an OCI LinuxResources ({}): {e}", any.type_url),
    })
}

impl containerd_shim::Task for TaskService {
    fn state(&self, _: &TtrpcContext, req: StateRequest) -> TtrpcResult<StateResponse> {
        rpc!(self.do_state(req))
    }

    fn create(&self, _: &TtrpcContext, req: CreateTaskRequest) -> TtrpcResult<CreateTaskResponse> {
        log::info!("create {} (bundle {})", req.id, req.bundle);
        rpc!(self.do_create(req))
    }

    fn start(&self, _: &TtrpcContext, req: StartRequest) -> TtrpcResult<StartResponse> {
        rpc!(self.do_start(req))
    }

    fn delete(&self, _: &TtrpcContext, req: DeleteRequest) -> TtrpcResult<DeleteResponse> {
        rpc!(self.do_delete(req))
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
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn request(json: &str) -> UpdateTaskRequest {
        let mut any = Any::new();
        any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources".into();
        any.value = json.as_bytes().to_vec();
        UpdateTaskRequest {
            id: "c".into(),
            resources: MessageField::some(any),
            ..Default::default()
        }
    }

    #[test]
    fn update_resources_come_from_the_json_in_the_any() {
        let res = resources_of(&request(
            r#"{"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000},"pids":{"limit":64}}"#,
        ))
        .expect("parsed");
        assert_eq!(
            res.memory().as_ref().and_then(|m| m.limit()),
            Some(67108864)
        );
        assert_eq!(res.cpu().as_ref().and_then(|c| c.quota()), Some(50000));
        assert_eq!(res.pids().as_ref().map(|p| p.limit()), Some(64));
    }

    #[test]
    fn update_without_or_with_bad_resources_names_the_field() {
        let missing = UpdateTaskRequest::default();
        let err = resources_of(&missing).expect_err("missing");
        assert!(err.to_string().starts_with("resources:"), "{err}");
        let err = resources_of(&request("{\"memory\": 5}")).expect_err("bad");
        assert!(err.to_string().starts_with("resources:"), "{err}");
    }
}
