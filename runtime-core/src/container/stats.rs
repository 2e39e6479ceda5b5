//! `stats` and OOM events (runc's `events`): from the cgroup files.

use super::{Container, Status};
use crate::cgroups::{self, OomWatcher, Stats};
use crate::Error;

impl Container {
    /// The container's resource usage: CPU, memory, pids, block I/O, hugetlb.
    pub fn stats(&self) -> Result<Stats, Error> {
        self.require(Status::can_kill, "get stats of")?;
        Ok(cgroups::stats(self.cgroups("get stats of")?)?)
    }

    /// A watcher for the container's OOM events (runc's `events`), or `None`
    /// when its cgroups have no memory controller.
    pub fn oom_watcher(&self) -> Result<Option<OomWatcher>, Error> {
        Ok(cgroups::watch_oom(self.cgroups("watch events of")?)?)
    }
}
