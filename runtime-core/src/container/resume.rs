//! `resume`: thaw a paused container.

use super::{record, Container, Status};
use crate::{cgroups, Error};

impl Container {
    /// Thaw the processes of a paused container.
    pub fn resume(&self) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        self.require(|s| s == Status::Paused, "resume")?;
        let paths = cgroups::paths_of(self.record.pid)?;
        cgroups::set_frozen(&paths, false)?;
        Ok(())
    }
}
