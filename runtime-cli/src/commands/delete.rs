//! `skiff delete [--force] ID`.

use std::path::Path;

use skiff_core::Container;

use super::CommandError;
use crate::args::DeleteArgs;

pub(super) fn delete(root: &Path, a: DeleteArgs) -> Result<(), CommandError> {
    match Container::load(root, &a.id) {
        Ok(c) => Ok(c.delete(a.force)?),
        // runc: forcing the delete of a container that does not exist succeeds.
        // The library does not export its "not found" error, so look for the
        // state directory (ROOT/ID) instead.
        Err(_)
            if a.force && skiff_core::validate_id(&a.id).is_ok() && !root.join(&a.id).exists() =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
