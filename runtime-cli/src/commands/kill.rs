//! `skiff kill [--all] ID [SIGNAL]`.

use std::path::Path;

use skiff_core::{parse_signal, Container};

use super::CommandError;
use crate::args::KillArgs;

pub(super) fn kill(root: &Path, a: KillArgs) -> Result<(), CommandError> {
    let signal = parse_signal(&a.signal).map_err(skiff_core::Error::from)?;
    Container::load(root, &a.id)?.kill(signal, a.all)?;
    Ok(())
}
