//! `skiff create ID`: everything up to the user program, which waits for
//! `skiff start`.

use std::path::Path;

use skiff_core::{Container, ContainerBuilder};

use super::{check_terminal, CommandError};
use crate::args::CreateArgs;

pub(super) fn create(root: &Path, rootless: bool, a: CreateArgs) -> Result<(), CommandError> {
    // `create` always detaches: a terminal needs --console-socket.
    check_terminal(true, wants_terminal(&a), a.console_socket.as_deref())?;
    builder(root, rootless, &a).create()?;
    Ok(())
}

/// The builder for `create` and `run`'s shared options (and the global
/// `--rootless`, decided).
pub(super) fn builder(root: &Path, rootless: bool, a: &CreateArgs) -> ContainerBuilder {
    let mut b = ContainerBuilder::new(&a.id, root)
        .rootless(rootless)
        .no_pivot(a.no_pivot)
        .no_new_keyring(a.no_new_keyring)
        .preserve_fds(a.preserve_fds)
        .listen_fds(listen_fds());
    if let Some(dir) = &a.bundle {
        b = b.bundle(dir);
    }
    if let Some(path) = &a.console_socket {
        b = b.console_socket(path);
    }
    if let Some(path) = &a.pid_file {
        b = b.pid_file(path);
    }
    b
}

/// Socket activation, as runc: the fds skiff itself received via
/// `LISTEN_FDS`/`LISTEN_PID` are passed on to the container.
fn listen_fds() -> u32 {
    let var = |name| std::env::var(name).ok();
    skiff_core::listen_fds(
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_PID").as_deref(),
        std::process::id(),
    )
}

/// Whether the bundle's config.json asks for a terminal. A config.json that
/// cannot be read says no here; `create` then reports it with the field.
pub(super) fn wants_terminal(a: &CreateArgs) -> bool {
    let path = a
        .bundle
        .as_deref()
        .unwrap_or(Path::new("."))
        .join("config.json");
    std::fs::read(path)
        .ok()
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("process")?.get("terminal")?.as_bool())
        .unwrap_or(false)
}

/// Delete a container that failed after `create`; the first error is the
/// one to report.
pub(super) fn destroy(c: Container) {
    let _ = c.delete(true);
}
