//! Create: the container from its bundle, with its streams, and the TaskCreate event.

use super::*;

impl TaskService {
    pub(super) fn do_create(&self, req: CreateTaskRequest) -> Res<CreateTaskResponse> {
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

    pub(super) fn create_in(
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
        let oom = crate::oom::watch(req.id.clone(), &container, self.tasks.events().clone());
        let mut map = self.tasks.lock();
        map.insert(
            req.id.clone(),
            Task {
                bundle: bundle.to_owned(),
                root: root.to_owned(),
                mounted_rootfs: mounted,
                init: Proc::new(pid, paths.clone(), io),
                execs: HashMap::new(),
                oom,
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
}
