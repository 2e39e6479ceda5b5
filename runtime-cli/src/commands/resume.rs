//! `skiff resume ID`: thaw a paused container.

use std::path::Path;

use skiff_core::Container;

use super::CommandError;

pub(super) fn resume(root: &Path, id: &str) -> Result<(), CommandError> {
    Container::load(root, id)?.resume()?;
    Ok(())
}
