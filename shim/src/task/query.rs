//! State, Wait, Pids and Stats: what containerd asks of a task.

use super::*;
use skiff_core::CgroupVersion;

impl TaskService {
    pub(super) fn do_state(&self, req: StateRequest) -> Res<StateResponse> {
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

    pub(super) fn do_wait(&self, req: WaitRequest) -> Res<WaitResponse> {
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

    pub(super) fn do_pids(&self, req: PidsRequest) -> Res<PidsResponse> {
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
                info.info = MessageField::some(any_of(PROCESS_DETAILS_TYPE, &details)?);
            }
            processes.push(info);
        }
        Ok(PidsResponse {
            processes,
            ..Default::default()
        })
    }

    pub(super) fn do_stats(&self, req: StatsRequest) -> Res<StatsResponse> {
        let root = self.root_of(&req.id)?;
        let stats = Container::load(&root, &req.id)?.stats()?;
        // runc's shim answers in the type of the container's hierarchy.
        let any = match stats.version {
            CgroupVersion::V1 => any_of(METRICS_TYPE, &crate::metrics::to_metrics(&stats))?,
            CgroupVersion::V2 => any_of(METRICS_V2_TYPE, &crate::metrics::to_metrics_v2(&stats))?,
        };
        Ok(StatsResponse {
            stats: MessageField::some(any),
            ..Default::default()
        })
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
