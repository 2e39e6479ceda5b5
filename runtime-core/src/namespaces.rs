//! Namespaces: which the container gets new, which it joins, and entering them.

use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType;

use crate::launch::{LaunchKind, LaunchPlan};

/// Why namespaces could not be entered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NamespaceError {
    /// A namespace path (`linux.namespaces[].path`) could not be opened.
    #[error("open namespace {kind} at {path}: {source}")]
    Open {
        kind: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// setns(2) failed.
    #[error("join {kind} namespace {path}: {source}")]
    Join {
        kind: &'static str,
        path: PathBuf,
        source: nix::Error,
    },
    /// `linux.timeOffsets` could not be written.
    #[error("linux.timeOffsets: {clock}: {source}")]
    TimeOffset {
        clock: String,
        source: std::io::Error,
    },
    /// A clock name other than monotonic or boottime.
    #[error("linux.timeOffsets: unknown clock {0:?} (monotonic or boottime)")]
    Clock(String),
    /// unshare(2) failed.
    #[error("unshare {kind} namespace: {source}")]
    Unshare {
        kind: &'static str,
        source: nix::Error,
    },
}

/// What entering left to do: the flags for the clone of the container process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) clone_flags: libc::c_int,
}

/// The clone flag and /proc/PID/ns name of a namespace type.
pub(crate) fn flag_and_name(kind: LinuxNamespaceType) -> (CloneFlags, &'static str) {
    match kind {
        LinuxNamespaceType::Mount => (CloneFlags::CLONE_NEWNS, "mnt"),
        LinuxNamespaceType::Cgroup => (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
        LinuxNamespaceType::Uts => (CloneFlags::CLONE_NEWUTS, "uts"),
        LinuxNamespaceType::Ipc => (CloneFlags::CLONE_NEWIPC, "ipc"),
        LinuxNamespaceType::User => (CloneFlags::CLONE_NEWUSER, "user"),
        LinuxNamespaceType::Pid => (CloneFlags::CLONE_NEWPID, "pid"),
        LinuxNamespaceType::Network => (CloneFlags::CLONE_NEWNET, "net"),
        LinuxNamespaceType::Time => (CloneFlags::from_bits_retain(libc::CLONE_NEWTIME), "time"),
    }
}

/// In I: join the namespaces the plan names by path (or, for exec, all of
/// the container's), unshare a new time namespace, and return the flags for
/// the namespaces the container process gets new at clone.
pub(crate) fn enter(plan: &LaunchPlan) -> Result<Entry, NamespaceError> {
    let namespaces = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut joins: Vec<(LinuxNamespaceType, PathBuf)> = Vec::new();
    let mut new_flags = CloneFlags::empty();
    match plan.kind {
        LaunchKind::Create => {
            for ns in &namespaces {
                match ns.path() {
                    Some(path) => joins.push((ns.typ(), path.clone())),
                    None => new_flags |= flag_and_name(ns.typ()).0,
                }
            }
        }
        LaunchKind::Exec { pid } => {
            for ns in &namespaces {
                if ns.typ() == LinuxNamespaceType::User {
                    continue;
                }
                let name = flag_and_name(ns.typ()).1;
                joins.push((ns.typ(), PathBuf::from(format!("/proc/{pid}/ns/{name}"))));
            }
        }
    }
    // Open every path first: after joining the mount namespace they may no
    // longer resolve. The mount namespace is joined last for the same reason.
    joins.sort_by_key(|(kind, _)| *kind == LinuxNamespaceType::Mount);
    let mut opened = Vec::with_capacity(joins.len());
    for (kind, path) in joins {
        let (flag, name) = flag_and_name(kind);
        let file = File::open(&path).map_err(|source| NamespaceError::Open {
            kind: name,
            path: path.clone(),
            source,
        })?;
        opened.push((flag, name, path, file));
    }
    for (flag, name, path, file) in &opened {
        setns(file, *flag).map_err(|source| NamespaceError::Join {
            kind: name,
            path: path.clone(),
            source,
        })?;
    }
    let time = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    if new_flags.contains(time) {
        // CLONE_NEWTIME is refused by clone(2): unshare it here so that the
        // container process is born in it.
        unshare(time).map_err(|source| NamespaceError::Unshare {
            kind: "time",
            source,
        })?;
        new_flags.remove(time);
        write_time_offsets(plan)?;
    }
    Ok(Entry {
        clone_flags: new_flags.bits(),
    })
}

/// The lines of /proc/self/timens_offsets for `linux.timeOffsets`.
pub(crate) fn time_offset_lines(
    offsets: &std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>,
) -> Result<Vec<(String, String)>, NamespaceError> {
    let mut lines = Vec::new();
    for (clock, off) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            return Err(NamespaceError::Clock(clock.clone()));
        }
        let line = format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        );
        lines.push((clock.clone(), line));
    }
    lines.sort();
    Ok(lines)
}

/// After unshare(CLONE_NEWTIME) and before any process is born in the new
/// namespace: set its clock offsets.
fn write_time_offsets(plan: &LaunchPlan) -> Result<(), NamespaceError> {
    let offsets = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().clone())
        .unwrap_or_default();
    for (clock, line) in time_offset_lines(&offsets)? {
        std::fs::write("/proc/self/timens_offsets", line)
            .map_err(|source| NamespaceError::TimeOffset { clock, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_offsets() {
        let offsets: std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset> =
            serde_json::from_str(
                r#"{"monotonic":{"secs":3600},"boottime":{"secs":-5,"nanosecs":7}}"#,
            )
            .expect("parse");
        let lines = time_offset_lines(&offsets).expect("valid");
        assert_eq!(lines[0].1, "boottime -5 7\n");
        assert_eq!(lines[1].1, "monotonic 3600 0\n");
        let bad: std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset> =
            serde_json::from_str(r#"{"realtime":{"secs":1}}"#).expect("parse");
        assert!(matches!(
            time_offset_lines(&bad),
            Err(NamespaceError::Clock(_))
        ));
    }
}
