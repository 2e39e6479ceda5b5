//! Start: the container's init, or an exec process added before.

use super::*;

impl TaskService {
    pub(super) fn do_start(&self, req: StartRequest) -> Res<StartResponse> {
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
}
