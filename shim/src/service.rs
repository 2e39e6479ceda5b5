//! The shim's life: `start` (fork the server, print its address), `delete`
//! (clean up after a dead shim), and the server's task service.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Config, DeleteResponse, ExitSignal, Flags, StartOpts};

use crate::events::Events;
use crate::liveness::{self, Liveness};
use crate::state::Tasks;
use crate::task::{self, TaskService};

/// The annotation that groups a pod's containers into one shim.
const SANDBOX_ANNOTATION: &str = "io.kubernetes.cri.sandbox-id";

/// The shim, as the containerd-shim crate drives it.
pub struct Service {
    namespace: String,
    id: String,
    bundle: String,
    socket: String,
    exit: Arc<ExitSignal>,
    events: Option<Events>,
}

/// The shim's group: the pod's sandbox id if the bundle names one, else the
/// container's id (one shim per container).
fn grouping(bundle: &Path, id: &str) -> String {
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.get("annotations")?
                .get(SANDBOX_ANNOTATION)?
                .as_str()
                .map(str::to_owned)
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| id.to_owned())
}

impl containerd_shim::Shim for Service {
    type T = TaskService;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        Service {
            namespace: args.namespace.clone(),
            id: args.id.clone(),
            bundle: args.bundle.clone(),
            socket: args.socket.clone(),
            exit: Arc::new(ExitSignal::default()),
            events: None,
        }
    }

    fn start_shim(&mut self, opts: StartOpts) -> Result<String, containerd_shim::Error> {
        let bundle = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let group = grouping(&bundle, &opts.id);
        // A pod's shim may run already: use it. The crate's server would
        // check that itself, but gives up after a second and then removes
        // the live socket; a stale one is removed here so that it never has
        // to decide.
        let existing = containerd_shim::socket_address(&opts.address, &opts.namespace, &group);
        let path = Path::new(existing.trim_start_matches("unix://"));
        match liveness::probe(path) {
            Liveness::Live => {
                containerd_shim::util::write_address(&existing)?;
                return Ok(existing);
            }
            Liveness::Stale => {
                let _ = std::fs::remove_file(path);
            }
            Liveness::Absent => {}
        }
        let (_pid, address) = containerd_shim::spawn(opts, &group, Vec::new())?;
        containerd_shim::util::write_address(&address)?;
        Ok(address)
    }

    fn delete_shim(&mut self) -> Result<DeleteResponse, containerd_shim::Error> {
        let bundle = if self.bundle.is_empty() {
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
        } else {
            PathBuf::from(&self.bundle)
        };
        let root = std::fs::read_to_string(bundle.join(task::ROOT_FILE))
            .map(PathBuf::from)
            .unwrap_or_else(|_| task::default_root(&self.namespace));
        let mut pid = 0;
        match skiff_core::Container::load(&root, &self.id) {
            Ok(c) => {
                pid = c.pid().max(0) as u32;
                end_by_cgroup(&c);
                if let Err(e) = c.delete(true) {
                    log::warn!("delete {}: {e}", self.id);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => log::warn!("load {}: {e}", self.id),
        }
        // Only the shim mounts bundle/rootfs; unmounting a directory that
        // is no mount point fails harmlessly.
        crate::rootfs::unmount_all(&bundle);
        // The dead server could not remove its socket. A pod's shim serves
        // other containers still: its socket stays while it listens.
        if let Ok(address) = std::fs::read_to_string(bundle.join("address")) {
            let path = Path::new(address.trim().trim_start_matches("unix://"));
            let is_socket = std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
            if is_socket && liveness::probe(path) == Liveness::Stale {
                let _ = std::fs::remove_file(path);
            }
        }
        let _ = std::fs::remove_file(bundle.join(task::ROOT_FILE));
        Ok(DeleteResponse {
            pid,
            exit_status: task::KILLED,
            exited_at: Some(Timestamp::now()).into(),
            ..Default::default()
        })
    }

    fn wait(&mut self) {
        self.exit.wait();
        if let Some(events) = self.events.as_ref().or(EVENTS.get()) {
            // TaskDelete and the last exits must reach containerd first.
            events.flush(Duration::from_secs(10));
        }
        // With several containers per shim, the first bundle (our working
        // directory, where the `address` file is) may be gone by now.
        let path = self.socket.strip_prefix("unix://").unwrap_or(&self.socket);
        if !path.is_empty() {
            let _ = std::fs::remove_file(path);
        }
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> Self::T {
        // Events go through a client of our own (see crate::events); the
        // crate's is closed.
        drop(publisher);
        let address = std::env::var("TTRPC_ADDRESS").unwrap_or_default();
        // `wait` needs the queue too; the crate gives us `&self` here, so the
        // queue is made here and found again through a OnceLock.
        let events = match Events::start(address, self.namespace.clone()) {
            Ok(e) => e,
            Err(e) => {
                log::error!("cannot start the event publisher: {e}");
                std::process::exit(1);
            }
        };
        let _ = EVENTS.set(events.clone());
        let tasks = Arc::new(Tasks::new(events));
        if let Err(e) = crate::reaper::spawn(Arc::clone(&tasks)) {
            log::error!("cannot start the reaper: {e}");
            std::process::exit(1);
        }
        TaskService::new(tasks, self.namespace.clone(), Arc::clone(&self.exit))
    }
}

static EVENTS: std::sync::OnceLock<Events> = std::sync::OnceLock::new();

/// SIGKILL every process in the container's cgroup and wait (a few seconds
/// at most) until its init has ended, so that the forced delete that follows
/// finds it stopped: skiff-core's forced delete signals the container's whole
/// pid namespace, which a pod member shares with its sandbox.
fn end_by_cgroup(c: &skiff_core::Container) {
    if c.status() == skiff_core::Status::Stopped {
        return;
    }
    let init = c.pid();
    for pid in task::container_pids(c) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(init),
        nix::sys::signal::Signal::SIGKILL,
    );
    for _ in 0..500 {
        if c.status() == skiff_core::Status::Stopped {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pods_share_a_shim_and_lone_containers_get_their_own() {
        let dir = std::env::temp_dir().join(format!("skiff-shim-grouping-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(grouping(&dir, "c1"), "c1", "no config.json");
        std::fs::write(
            dir.join("config.json"),
            r#"{"annotations":{"io.kubernetes.cri.sandbox-id":"pod7"}}"#,
        )
        .expect("config");
        assert_eq!(grouping(&dir, "c1"), "pod7");
        std::fs::write(dir.join("config.json"), r#"{"annotations":{}}"#).expect("config");
        assert_eq!(grouping(&dir, "c1"), "c1");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
