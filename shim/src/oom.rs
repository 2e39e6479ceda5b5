//! TaskOOM: watching a container's memory cgroup for OOM kills (cgroup v1:
//! an eventfd registered on `memory.oom_control` through
//! `cgroup.event_control`). A host whose memory controller is on cgroup v2
//! gets no OOM events from this shim yet.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

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
/// cgroup runs out of memory, until the cgroup is removed. Best
/// effort: a container without a v1 memory cgroup is not watched.
pub fn watch(cid: String, pid: i32, events: Events) {
    let Some(dir) = memory_dir(pid).filter(|d| d.join("memory.oom_control").exists()) else {
        return;
    };
    // SAFETY: eventfd takes an initial count and flags and returns a new fd
    // or -1; no pointers.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        log::warn!(
            "oom watch for {cid}: eventfd: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    let Ok(control) = File::open(dir.join("memory.oom_control")) else {
        return;
    };
    let registration = format!("{} {}", efd.as_raw_fd(), control.as_raw_fd());
    if let Err(e) = std::fs::write(dir.join("cgroup.event_control"), registration) {
        log::warn!("oom watch for {cid}: {}: {e}", dir.display());
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("oom".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _control = control;
            let mut efd = File::from(efd);
            let mut count = [0u8; 8];
            // The eventfd fires when the cgroup runs out of memory (before
            // the OOM killer acts, so counters are not updated yet), and once
            // more when the cgroup is removed, whose files are gone by then.
            while efd.read_exact(&mut count).is_ok() {
                if !dir.join("memory.oom_control").exists() {
                    break;
                }
                events.send(
                    TASK_OOM_EVENT_TOPIC,
                    TaskOOM {
                        container_id: cid.clone(),
                        ..Default::default()
                    },
                );
            }
        });
    if let Err(e) = spawned {
        log::warn!("oom watch thread: {e}");
    }
}
