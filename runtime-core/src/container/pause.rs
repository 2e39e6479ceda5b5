//! `pause`: freeze every process of the container.

use super::{record, Container, Status};
use crate::{cgroups, Error};

impl Container {
    /// Freeze the container's processes (the freezer cgroup on v1,
    /// cgroup.freeze on v2); its status becomes paused.
    pub fn pause(&self) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        self.require(|s| matches!(s, Status::Running | Status::Created), "pause")?;
        cgroups::set_frozen(self.cgroups("pause")?, true)?;
        Ok(())
    }
}
