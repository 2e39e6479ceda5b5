//! `ps`: the processes of the container, from its cgroup.

use super::{Container, Status};
use crate::{cgroups, Error};

impl Container {
    /// The pids (in the runtime's pid namespace) of every process in the
    /// container's cgroup, sorted.
    pub fn processes(&self) -> Result<Vec<i32>, Error> {
        self.require(Status::can_kill, "list processes of")?;
        Ok(cgroups::pids(self.cgroups("list processes of")?)?)
    }
}
