//! `skiff spec [--bundle DIR]`: write a default config.json, never over one.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::CommandError;
use crate::args::SpecArgs;

pub(super) fn spec(a: SpecArgs) -> Result<(), CommandError> {
    let path = a
        .bundle
        .unwrap_or_else(|| PathBuf::from("."))
        .join("config.json");
    let io = |source| CommandError::Io {
        path: path.clone(),
        source,
    };
    // runc indents config.json with tabs.
    let mut text = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let spec = if a.rootless {
        // As runc: a spec mapping the caller's ids (skiff cannot run it yet).
        skiff_core::default_spec_rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    } else {
        skiff_core::default_spec()
    };
    spec.serialize(&mut serde_json::Serializer::with_formatter(&mut text, fmt))
        .map_err(CommandError::Encode)?;
    text.push(b'\n');
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CommandError::SpecExists(path))
        }
        Err(e) => return Err(io(e)),
    };
    file.write_all(&text).map_err(io)
}
