//! `skiff start ID`.

use std::path::Path;

use skiff_core::Container;

use super::CommandError;

pub(super) fn start(root: &Path, id: &str) -> Result<(), CommandError> {
    Container::load(root, id)?.start()?;
    Ok(())
}
