//! Delete: a stopped process or the whole task, with what it left (rootfs mounts, state).

use super::*;

impl TaskService {
    pub(super) fn do_delete(&self, req: DeleteRequest) -> Res<DeleteResponse> {
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
        // The processes are gone: let the OOM watch report a late OOM
        // before TaskDelete, and end it.
        if let Some(watch) = task.oom.take() {
            watch.finish(std::time::Duration::from_secs(2));
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
