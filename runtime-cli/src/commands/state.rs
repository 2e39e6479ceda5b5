//! `skiff state ID`: the OCI state as indented JSON.

use std::path::Path;

use skiff_core::Container;

use super::{print_json, CommandError};

pub(super) fn state(root: &Path, id: &str) -> Result<(), CommandError> {
    print_json(&Container::load(root, id)?.state())
}
