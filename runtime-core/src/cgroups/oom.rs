//! OOM notifications of a container's memory cgroup, as runc's `events`: on
//! v1 an eventfd registered for memory.oom_control through
//! cgroup.event_control; on v2 an inotify watch on memory.events, an OOM being
//! an increase of its `oom_kill` counter.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
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
            let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, ms) {
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(e) => return Err(sys("poll", self.dir())(e)),
            }
            match self.take()? {
                OomWait::Timeout if Instant::now() < deadline => {}
                seen => return Ok(seen),
            }
        }
    }

    /// What happened since the last look, without waiting (for callers
    /// that poll [`AsFd::as_fd`] beside fds of their own): the OOMs counted
    /// since, else `Gone` once the cgroup is removed, else `Timeout`.
    pub fn take(&mut self) -> Result<OomWait, CgroupError> {
        let (ooms, gone) = match &mut self.kind {
            Kind::V1 { efd, dir, .. } => {
                let n = match efd.read() {
                    Ok(n) => n,
                    Err(nix::Error::EAGAIN | nix::Error::EINTR) => 0,
                    Err(e) => return Err(sys("read eventfd", dir)(e)),
                };
                // The eventfd also counts once when the cgroup is removed
                // (its files are gone by then); one read may see both.
                let gone = !dir.exists();
                (if gone { n.saturating_sub(1) } else { n }, gone)
            }
            Kind::V2 { inotify, dir, last } => {
                // Drain the queue; the file itself says what changed.
                while matches!(inotify.read_events(), Ok(e) if !e.is_empty()) {}
                if !dir.exists() {
                    (0, true)
                } else {
                    let now = oom_kills(dir);
                    let n = now.saturating_sub(*last);
                    *last = now.max(*last);
                    (n, false)
                }
            }
        };
        Ok(match (ooms, gone) {
            (0, true) => OomWait::Gone,
            (0, false) => OomWait::Timeout,
            (n, _) => OomWait::Oom(n),
        })
    }

    fn dir(&self) -> &Path {
        match &self.kind {
            Kind::V1 { dir, .. } | Kind::V2 { dir, .. } => dir,
        }
    }
}

impl AsFd for OomWatcher {
    /// The fd that turns readable when [`OomWatcher::take`] may have news.
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.kind {
            Kind::V1 { efd, .. } => efd.as_fd(),
            Kind::V2 { inotify, .. } => inotify.as_fd(),
        }
    }
}

fn oom_kills(dir: &Path) -> u64 {
    keyed(dir, "memory.events")
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}
