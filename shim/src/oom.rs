//! TaskOOM: watching a container's memory cgroup for OOM kills (cgroup v1:
//! an eventfd registered on `memory.oom_control` through
//! `cgroup.event_control`). A host whose memory controller is on cgroup v2
//! gets no OOM events from this shim yet.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};

use containerd_shim::protos::events::task::TaskOOM;
use containerd_shim::protos::topics::TASK_OOM_EVENT_TOPIC;

use crate::events::Events;

/// The v1 memory cgroup directory of process `pid`.
fn memory_dir(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        controllers
            .split(',')
            .any(|c| c == "memory")
            .then(|| PathBuf::from(format!("/sys/fs/cgroup/{controllers}{path}")))
    })
}

/// Publish TaskOOM for container `cid` (init `pid`) each time its memory
/// cgroup runs out of memory, until the cgroup is removed; the receiver
/// fires when the watch has ended (so that Delete can let it report first).
/// Best effort: a container without a v1 memory cgroup is not watched.
pub fn watch(cid: String, pid: i32, events: Events) -> Option<Receiver<()>> {
    let dir = memory_dir(pid).filter(|d| d.join("memory.oom_control").exists())?;
    // SAFETY: eventfd takes an initial count and flags and returns a new fd
    // or -1; no pointers.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        log::warn!(
            "oom watch for {cid}: eventfd: {}",
            std::io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    let control = File::open(dir.join("memory.oom_control")).ok()?;
    let registration = format!("{} {}", efd.as_raw_fd(), control.as_raw_fd());
    if let Err(e) = std::fs::write(dir.join("cgroup.event_control"), registration) {
        log::warn!("oom watch for {cid}: {}: {e}", dir.display());
        return None;
    }
    let (done_tx, done_rx) = channel();
    let spawned = std::thread::Builder::new()
        .name("oom".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _control = control;
            let mut efd = File::from(efd);
            let mut count = [0u8; 8];
            // The eventfd counts each time the cgroup runs out of memory,
            // and once more when the cgroup is removed (its files are gone
            // by then). A late read may see both at once.
            while efd.read_exact(&mut count).is_ok() {
                let n = u64::from_ne_bytes(count);
                let removed = !dir.join("memory.oom_control").exists();
                let ooms = if removed { n.saturating_sub(1) } else { n };
                if ooms > 0 {
                    events.send(
                        TASK_OOM_EVENT_TOPIC,
                        TaskOOM {
                            container_id: cid.clone(),
                            ..Default::default()
                        },
                    );
                }
                if removed {
                    break;
                }
            }
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(_) => Some(done_rx),
        Err(e) => {
            log::warn!("oom watch thread: {e}");
            None
        }
    }
}
