//! `resume`: thaw a paused container.

use super::{record, Container, Status};
use crate::{cgroups, Error};

impl Container {
    /// Thaw the processes of a paused container.
    pub fn resume(&self) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        self.require(|s| s == Status::Paused, "resume")?;
        cgroups::set_frozen(self.cgroups("resume")?, false)?;
        Ok(())
    }
}
