//! `stats` (runc's `events --stats`): resource usage from the cgroup files.

use super::{Container, Status};
use crate::cgroups::{self, Stats};
use crate::Error;

impl Container {
    /// The container's resource usage: CPU, memory, pids, block I/O, hugetlb.
    pub fn stats(&self) -> Result<Stats, Error> {
        self.require(Status::can_kill, "get stats of")?;
        let paths = cgroups::paths_of(self.record.pid)?;
        Ok(cgroups::stats(&paths)?)
    }
}
