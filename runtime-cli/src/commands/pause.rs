//! `skiff pause ID`: freeze every process of the container.

use std::path::Path;

use skiff_core::Container;

use super::CommandError;

pub(super) fn pause(root: &Path, id: &str) -> Result<(), CommandError> {
    Container::load(root, id)?.pause()?;
    Ok(())
}
