//! `skiff features`: what this build supports, as runtime-spec's features.md.

use super::{print_json, CommandError};

pub(super) fn features() -> Result<(), CommandError> {
    print_json(&skiff_core::features())
}
