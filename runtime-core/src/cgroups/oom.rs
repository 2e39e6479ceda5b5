//! OOM notifications of a container's memory cgroup, as runc's `events`: on
//! v1 an eventfd registered for memory.oom_control through
//! cgroup.event_control; on v2 an inotify watch on memory.events, an OOM being
//! an increase of its `oom_kill` counter.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::stats::keyed;
use super::{fs, CgroupError, CgroupPaths};

/// What [`OomWatcher::wait`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomWait {
    /// The time passed without an OOM.
    Timeout,
    /// This many OOM events happened (at least one).
    Oom(u64),
    /// The cgroup is gone: no more events will come.
    Gone,
}

/// Waits for OOM events of one container's memory cgroup.
#[derive(Debug)]
pub struct OomWatcher {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    V1 {
        efd: EventFd,
        /// Kept open: the registration lasts as long as this file.
        _control: File,
        dir: PathBuf,
    },
    V2 {
        inotify: Inotify,
        dir: PathBuf,
        last: u64,
    },
}

fn sys(op: &'static str, path: &Path) -> impl FnOnce(nix::Error) -> CgroupError {
    let path = path.to_owned();
    move |e| CgroupError::Io {
        op,
        path,
        source: e.into(),
    }
}

impl OomWatcher {
    /// A watcher for the memory cgroup in `paths`; `None` when the container
    /// has no memory controller.
    pub(crate) fn new(paths: &CgroupPaths) -> Result<Option<Self>, CgroupError> {
        if let Some(dir) = paths.v1.get("memory") {
            let control_path = dir.join("memory.oom_control");
            let control = File::open(&control_path).map_err(|source| CgroupError::Io {
                op: "open",
                path: control_path.clone(),
                source,
            })?;
            let efd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                .map_err(sys("eventfd", dir))?;
            let line = format!(
                "{} {}",
                efd.as_fd().as_raw_fd(),
                control.as_fd().as_raw_fd()
            );
            fs::write(dir, "cgroup.event_control", &line, "cgroup.event_control")?;
            return Ok(Some(Self {
                kind: Kind::V1 {
                    efd,
                    _control: control,
                    dir: dir.clone(),
                },
            }));
        }
        let Some(dir) = paths.unified.as_ref() else {
            return Ok(None);
        };
        let events = dir.join("memory.events");
        if !events.exists() {
            return Ok(None);
        }
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(sys("inotify_init", dir))?;
        inotify
            .add_watch(&events, AddWatchFlags::IN_MODIFY)
            .map_err(sys("inotify_add_watch", &events))?;
        let last = oom_kills(dir);
        Ok(Some(Self {
            kind: Kind::V2 {
                inotify,
                dir: dir.clone(),
                last,
            },
        }))
    }

    /// Wait at most `timeout` for an OOM event.
    pub fn wait(&mut self, timeout: Duration) -> Result<OomWait, CgroupError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ready = {
                let fd = match &self.kind {
                    Kind::V1 { efd, .. } => efd.as_fd(),
                    Kind::V2 { inotify, .. } => inotify.as_fd(),
                };
                let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
                let ms = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
                match poll(&mut fds, ms) {
                    Ok(n) => n > 0,
                    Err(nix::Error::EINTR) => false,
                    Err(e) => return Err(sys("poll", self.dir())(e)),
                }
            };
            if !self.dir().exists() {
                return Ok(OomWait::Gone);
            }
            if ready {
                match &mut self.kind {
                    Kind::V1 { efd, .. } => match efd.read() {
                        Ok(n) if n > 0 => return Ok(OomWait::Oom(n)),
                        _ => {}
                    },
                    Kind::V2 { inotify, dir, last } => {
                        let _ = inotify.read_events();
                        let now = oom_kills(dir);
                        if now > *last {
                            let n = now - *last;
                            *last = now;
                            return Ok(OomWait::Oom(n));
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(OomWait::Timeout);
            }
        }
    }

    fn dir(&self) -> &Path {
        match &self.kind {
            Kind::V1 { dir, .. } | Kind::V2 { dir, .. } => dir,
        }
    }
}

fn oom_kills(dir: &Path) -> u64 {
    keyed(dir, "memory.events")
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}
