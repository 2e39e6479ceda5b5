//! `update`: change the resources of a live container's cgroups.

use oci_spec::runtime::LinuxResources;

use super::{record, Container, Status};
use crate::{cgroups, Error};

impl Container {
    /// Change the container's resources: the fields set in `resources` are
    /// checked (with the recorded ones they merge with) and written to its
    /// cgroups; the rest stays. The merged resources are recorded, so that
    /// `spec()` and later updates see them. Device rules are not changed.
    pub fn update(&mut self, resources: &LinuxResources) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        self.require(Status::can_kill, "update")?;
        let paths = self.cgroups("update")?.clone();
        let mut linux = self.record.spec.linux().clone().unwrap_or_default();
        let current = linux.resources().clone().unwrap_or_default();
        let merged = cgroups::update(&paths, &current, resources)?;
        linux.set_resources(Some(merged));
        self.record.spec.set_linux(Some(linux));
        record::write(&self.dir, &self.record)?;
        Ok(())
    }
}
