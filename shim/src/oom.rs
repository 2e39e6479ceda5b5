//! TaskOOM: watching a container's memory cgroup for OOM kills (cgroup v1:
//! an eventfd registered on `memory.oom_control` through
//! `cgroup.event_control`). A host whose memory controller is on cgroup v2
//! gets no OOM events from this shim yet.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};

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

/// A running OOM watch: [`OomWatch::finish`] ends it.
#[derive(Debug)]
pub struct OomWatch {
    /// Written once to tell the watch thread to drain and end.
    stop: File,
    done: Receiver<()>,
}

impl OomWatch {
    /// End the watch once every OOM the eventfd has counted so far is
    /// queued for publishing (before TaskDelete), waiting at most `limit`.
    /// An OOM is counted when it happens, so once the container's processes
    /// are gone there is nothing left to wait for: the cgroup's removal
    /// notice, which the kernel sends only after an RCU grace period and a
    /// workqueue pass (often over 10 ms), is not waited for.
    pub fn finish(self, limit: Duration) {
        let _ = (&self.stop).write_all(&1u64.to_ne_bytes());
        let _ = self.done.recv_timeout(limit);
    }
}

/// A new eventfd (close-on-exec, non-blocking), or None (logged).
fn eventfd(cid: &str) -> Option<File> {
    // SAFETY: eventfd takes an initial count and flags and returns a new fd
    // or -1; no pointers.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw < 0 {
        log::warn!(
            "oom watch for {cid}: eventfd: {}",
            std::io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    Some(File::from(unsafe { OwnedFd::from_raw_fd(raw) }))
}

/// The eventfd's count, zeroing it (0 when it is zero).
fn take_count(efd: &File) -> Option<u64> {
    let mut count = [0u8; 8];
    match (&*efd).read(&mut count) {
        Ok(8) => Some(u64::from_ne_bytes(count)),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Some(0),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Some(0),
        Err(_) => None,
    }
}

/// Publish TaskOOM for container `cid` (init `pid`) each time its memory
/// cgroup runs out of memory, until the cgroup is removed or the watch is
/// finished. Best effort: a container without a v1 memory cgroup is not
/// watched.
pub fn watch(cid: String, pid: i32, events: Events) -> Option<OomWatch> {
    let dir = memory_dir(pid).filter(|d| d.join("memory.oom_control").exists())?;
    let efd = eventfd(&cid)?;
    let stop = eventfd(&cid)?;
    let stop_theirs = stop.try_clone().ok()?;
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
            loop {
                let mut fds = [
                    PollFd::new(efd.as_fd(), PollFlags::POLLIN),
                    PollFd::new(stop_theirs.as_fd(), PollFlags::POLLIN),
                ];
                match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(nix::Error::EINTR) => {}
                    Err(_) => break,
                }
                let stopping = fds[1].any().unwrap_or(true);
                // The eventfd counts each time the cgroup runs out of
                // memory, and once more when the cgroup is removed (its
                // files are gone by then). A late read may see both at once.
                let Some(n) = take_count(&efd) else { break };
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
                if removed || stopping {
                    break;
                }
            }
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(_) => Some(OomWatch {
            stop,
            done: done_rx,
        }),
        Err(e) => {
            log::warn!("oom watch thread: {e}");
            None
        }
    }
}
