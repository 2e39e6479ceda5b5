//! newuidmap/newgidmap (shadow's `uidmap` package): how an unprivileged
//! runtime maps more than its own id into a container's user namespace.
//! They are setuid helpers that allow what /etc/subuid and /etc/subgid
//! grant the caller.

use std::process::{Command, Stdio};

use oci_spec::runtime::LinuxIdMapping;

/// Why a mapping tool could not write a map.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MapToolError {
    /// The tool is not installed.
    #[error(
        "{field}: as an unprivileged user, a map other than the caller's own id \
         needs {tool} (package uidmap), which was not found on PATH or in /usr/bin"
    )]
    Missing {
        /// The spec field of the map.
        field: &'static str,
        /// `newuidmap` or `newgidmap`.
        tool: &'static str,
    },
    /// The tool could not be started.
    #[error("{field}: run {tool}: {source}")]
    Spawn {
        /// The spec field of the map.
        field: &'static str,
        /// The tool's path.
        tool: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The tool refused the map.
    #[error("{field}: {command} failed ({status}): {stderr} (check /etc/{file})")]
    Failed {
        /// The spec field of the map.
        field: &'static str,
        /// The command line that was run.
        command: String,
        /// How it ended.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
        /// `subuid` or `subgid`.
        file: &'static str,
    },
}

/// Whether `map` is the single line that maps `own` (the caller's effective
/// id) once, which the kernel lets an unprivileged process write itself.
pub(crate) fn is_own_id(map: &[LinuxIdMapping], own: u32) -> bool {
    matches!(map, [m] if m.size() == 1 && m.host_id() == own)
}

/// The tool's path: the first of `$PATH`'s directories, then /usr/bin and
/// /bin, that holds it.
fn find(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/bin".into()])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The arguments of the tool for `map` of process `pid`:
/// `PID inside outside count ...`.
pub(crate) fn args(pid: i32, map: &[LinuxIdMapping]) -> Vec<String> {
    let mut out = vec![pid.to_string()];
    for m in map {
        out.extend([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    out
}

/// Write `file` (`uid_map` or `gid_map`) of process `pid` with newuidmap or
/// newgidmap. P runs the tool with fork+exec by the standard library (no
/// code of ours between them), so this is safe in a multithreaded caller.
pub(crate) fn run(
    field: &'static str,
    file: &'static str,
    pid: i32,
    map: &[LinuxIdMapping],
) -> Result<(), MapToolError> {
    let (tool, ids) = if file == "uid_map" {
        ("newuidmap", "subuid")
    } else {
        ("newgidmap", "subgid")
    };
    let path = find(tool).ok_or(MapToolError::Missing { field, tool })?;
    let args = args(pid, map);
    let output = Command::new(&path)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| MapToolError::Spawn {
            field,
            tool: path.display().to_string(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(MapToolError::Failed {
        field,
        command: format!("{} {}", path.display(), args.join(" ")),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        file: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(inside: u32, outside: u32, size: u32) -> LinuxIdMapping {
        oci_spec::runtime::LinuxIdMappingBuilder::default()
            .container_id(inside)
            .host_id(outside)
            .size(size)
            .build()
            .expect("mapping")
    }

    #[test]
    fn own_id_only_when_single_and_one_wide() {
        assert!(is_own_id(&[map(0, 1000, 1)], 1000));
        assert!(!is_own_id(&[map(0, 1000, 2)], 1000));
        assert!(!is_own_id(&[map(0, 1001, 1)], 1000));
        assert!(!is_own_id(&[map(0, 1000, 1), map(1, 100000, 10)], 1000));
        assert!(!is_own_id(&[], 1000));
    }

    #[test]
    fn tool_arguments() {
        let a = args(42, &[map(0, 1000, 1), map(1, 100000, 65536)]);
        assert_eq!(a, ["42", "0", "1000", "1", "1", "100000", "65536"]);
    }
}
