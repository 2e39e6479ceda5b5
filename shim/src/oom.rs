//! TaskOOM: watching a container's memory cgroup for OOM kills.
//! - cgroup v1: an eventfd registered on `memory.oom_control` through
//!   `cgroup.event_control`; the kernel counts each OOM on it.
//! - cgroup v2: inotify on `memory.events`, which the kernel marks modified
//!   when a counter moves; a rise of `oom_kill` is an OOM kill (as
//!   containerd's runc shim reports them on v2).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

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

/// The v2 cgroup directory of process `pid` (the `0::` line), when its
/// memory controller is enabled there.
fn unified_dir(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = PathBuf::from(format!("/sys/fs/cgroup{path}"));
    dir.join("memory.events").exists().then_some(dir)
}

/// The `oom_kill` count of a `memory.events` file's text.
fn oom_kills(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

/// What the watch thread waits on.
enum Source {
    /// v1: the eventfd counting OOMs of `dir`; the registration lasts as
    /// long as `memory.oom_control` stays open.
    V1 {
        efd: File,
        _control: File,
        dir: PathBuf,
    },
    /// v2: inotify on `dir/memory.events`, and the `oom_kill` count last seen.
    V2 {
        inotify: Inotify,
        dir: PathBuf,
        kills: u64,
    },
}

impl Source {
    fn v1(cid: &str, pid: i32) -> Option<Source> {
        let dir = memory_dir(pid).filter(|d| d.join("memory.oom_control").exists())?;
        let efd = eventfd(cid)?;
        let control = File::open(dir.join("memory.oom_control")).ok()?;
        let registration = format!("{} {}", efd.as_raw_fd(), control.as_raw_fd());
        if let Err(e) = std::fs::write(dir.join("cgroup.event_control"), registration) {
            log::warn!("oom watch for {cid}: {}: {e}", dir.display());
            return None;
        }
        Some(Source::V1 {
            efd,
            _control: control,
            dir,
        })
    }

    fn v2(cid: &str, pid: i32) -> Option<Source> {
        let dir = unified_dir(pid)?;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| log::warn!("oom watch for {cid}: inotify: {e}"))
            .ok()?;
        let file = dir.join("memory.events");
        inotify
            .add_watch(&file, AddWatchFlags::IN_MODIFY)
            .map_err(|e| log::warn!("oom watch for {cid}: {}: {e}", file.display()))
            .ok()?;
        // Kills before the watch (none for a new container) are not news.
        let kills = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| oom_kills(&t))
            .unwrap_or(0);
        Some(Source::V2 {
            inotify,
            dir,
            kills,
        })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Source::V1 { efd, .. } => efd.as_fd(),
            Source::V2 { inotify, .. } => inotify.as_fd(),
        }
    }

    /// After a wake-up: how many OOMs are news, and whether the cgroup is
    /// gone (nothing more can come); None when the source failed.
    fn take(&mut self) -> Option<(u64, bool)> {
        match self {
            Source::V1 { efd, dir, .. } => {
                // The eventfd counts each time the cgroup runs out of
                // memory, and once more when the cgroup is removed (its
                // files are gone by then). A late read may see both at once.
                let n = take_count(efd)?;
                let removed = !dir.join("memory.oom_control").exists();
                Some((if removed { n.saturating_sub(1) } else { n }, removed))
            }
            Source::V2 {
                inotify,
                dir,
                kills,
            } => {
                // Drain the queue; the file itself says what changed.
                while matches!(inotify.read_events(), Ok(e) if !e.is_empty()) {}
                let Ok(text) = std::fs::read_to_string(dir.join("memory.events")) else {
                    return Some((0, true));
                };
                let now = oom_kills(&text).unwrap_or(*kills);
                let news = now.saturating_sub(*kills);
                *kills = now;
                Some((news, false))
            }
        }
    }
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
/// cgroup runs out of memory (v1) or kills for it (v2), until the cgroup is
/// removed or the watch is finished. Best effort: a container without a
/// memory cgroup is not watched.
pub fn watch(cid: String, pid: i32, events: Events) -> Option<OomWatch> {
    let mut source = Source::v1(&cid, pid).or_else(|| Source::v2(&cid, pid))?;
    let stop = eventfd(&cid)?;
    let stop_theirs = stop.try_clone().ok()?;
    let (done_tx, done_rx) = channel();
    let spawned = std::thread::Builder::new()
        .name("oom".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                let mut fds = [
                    PollFd::new(source.fd(), PollFlags::POLLIN),
                    PollFd::new(stop_theirs.as_fd(), PollFlags::POLLIN),
                ];
                match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(nix::Error::EINTR) => {}
                    Err(_) => break,
                }
                let stopping = fds[1].any().unwrap_or(true);
                let Some((ooms, removed)) = source.take() else {
                    break;
                };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kills_are_read_from_memory_events() {
        let text = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(oom_kills(text), Some(2));
        assert_eq!(oom_kills("low 0\noom 1\n"), None);
    }
}
