//! Kill: a signal to the init or an exec, and with `all` to every process of the container's cgroup.

use super::*;

impl TaskService {
    pub(super) fn do_kill(&self, req: KillRequest) -> Res<()> {
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
