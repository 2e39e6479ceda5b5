//! Pause, Resume, Update, CloseIO and ResizePty: changes to a running task.

use super::*;

impl TaskService {
    pub(super) fn do_pause(&self, id: &str, pause: bool) -> Res<()> {
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
    pub(super) fn do_update(&self, req: UpdateTaskRequest) -> Res<()> {
        let resources = resources_of(&req)?;
        let root = self.root_of(&req.id)?;
        Container::load(&root, &req.id)?.update(&resources)?;
        Ok(())
    }

    pub(super) fn do_close_io(&self, req: CloseIORequest) -> Res<()> {
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

    pub(super) fn do_resize(&self, req: ResizePtyRequest) -> Res<()> {
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
