//! Exec: a process added to a running task, started later by Start.

use super::*;

impl TaskService {
    pub(super) fn do_exec(&self, req: ExecProcessRequest) -> Res<()> {
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
}
