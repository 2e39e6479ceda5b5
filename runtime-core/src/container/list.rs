//! `list`: the states of every container under a state root.

use std::path::Path;

use super::{Container, State, StateError};
use crate::Error;

/// The states of all containers under `root`, sorted by id. A missing root is
/// an empty list, as for runc.
pub fn list(root: impl AsRef<Path>) -> Result<Vec<State>, Error> {
    let root = root.as_ref();
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Io {
                path: root.to_owned(),
                source,
            }
            .into())
        }
    };
    let mut states = Vec::new();
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // A directory still being created has no state.json yet: skip it.
        if let Ok(c) = Container::load(root, &id) {
            states.push(c.state());
        }
    }
    states.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(states)
}
