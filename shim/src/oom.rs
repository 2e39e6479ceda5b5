//! TaskOOM: a thread per container publishing the OOMs skiff-core's
//! [`OomWatcher`] sees in its memory cgroup (v1: an eventfd on
//! `memory.oom_control`; v2: `oom_kill` rising in `memory.events`), until
//! the cgroup goes or the watch is finished.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};

use containerd_shim::protos::events::task::TaskOOM;
use containerd_shim::protos::topics::TASK_OOM_EVENT_TOPIC;
use skiff_core::{Container, OomWait, OomWatcher};

use crate::events::Events;

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

/// Publish TaskOOM for `container` (id `cid`) each time its memory
/// cgroup runs out of memory (v1) or kills for it (v2), until the cgroup is
/// removed or the watch is finished. Best effort: a container without a
/// memory cgroup is not watched.
pub fn watch(cid: String, container: &Container, events: Events) -> Option<OomWatch> {
    let mut watcher: OomWatcher = match container.oom_watcher() {
        Ok(w) => w?,
        Err(e) => {
            log::warn!("oom watch for {cid}: {e}");
            return None;
        }
    };
    let stop = eventfd(&cid)?;
    let stop_theirs = stop.try_clone().ok()?;
    let (done_tx, done_rx) = channel();
    let spawned = std::thread::Builder::new()
        .name("oom".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                let mut fds = [
                    PollFd::new(watcher.as_fd(), PollFlags::POLLIN),
                    PollFd::new(stop_theirs.as_fd(), PollFlags::POLLIN),
                ];
                match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(nix::Error::EINTR) => {}
                    Err(_) => break,
                }
                let stopping = fds[1].any().unwrap_or(true);
                let gone = match watcher.take() {
                    Ok(OomWait::Oom(_)) => {
                        events.send(
                            TASK_OOM_EVENT_TOPIC,
                            TaskOOM {
                                container_id: cid.clone(),
                                ..Default::default()
                            },
                        );
                        false
                    }
                    Ok(OomWait::Gone) | Err(_) => true,
                    Ok(OomWait::Timeout) => false,
                };
                if gone || stopping {
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
