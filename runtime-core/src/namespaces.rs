//! Namespaces: which the container gets new, which it joins, and entering them.

use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespace, LinuxNamespaceType};

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
    /// P could not write an id map of the container's new user namespace.
    #[error("{field}: write /proc/{pid}/{file}: {source}")]
    IdMap {
        field: &'static str,
        pid: i32,
        file: &'static str,
        source: std::io::Error,
    },
    /// newuidmap or newgidmap could not map the ids of a rootless container.
    #[error(transparent)]
    MapTool(#[from] crate::map_tool::MapToolError),
    /// The container's user namespace maps no host id to root.
    #[error(
        "the user namespace of process {pid} maps no {what} to 0 (read /proc/{pid}/{what}_map)"
    )]
    NoRoot { pid: i32, what: &'static str },
    /// C could not become root of its user namespace.
    #[error("become root in the user namespace: {0}")]
    BecomeRoot(nix::Error),
    /// P could not hand the exec fifo to the container's root.
    #[error("chown {} to the container's root {uid}:{gid}: {source}", path.display())]
    Chown {
        path: PathBuf,
        uid: u32,
        gid: u32,
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
                let name = flag_and_name(ns.typ()).1;
                let path = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
                // setns(2) refuses the user namespace one is already in.
                if ns.typ() == LinuxNamespaceType::User && same_ns(&path, "user") {
                    continue;
                }
                joins.push((ns.typ(), path));
            }
        }
    }
    // Open every path first: after joining the mount namespace they may no
    // longer resolve. The user namespace is joined first (the others are
    // joined with the capabilities it gives), the mount namespace last.
    joins.sort_by_key(|(kind, _)| match kind {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 2,
        _ => 1,
    });
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

/// Whether the namespace at `path` is this process's own of kind `name`.
fn same_ns(path: &std::path::Path, name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(path),
        std::fs::metadata(format!("/proc/self/ns/{name}")),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The user namespace entry of a spec, if it has one.
pub(crate) fn user_namespace(spec: &oci_spec::runtime::Spec) -> Option<LinuxNamespace> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| {
            ns.iter()
                .find(|n| n.typ() == LinuxNamespaceType::User)
                .cloned()
        })
}

/// The text of an id map file for `maps`: one `inside outside count` line
/// each, written in one write(2) as the kernel requires.
pub(crate) fn id_map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// In P, for C born in a new user namespace: write its uid and gid maps.
/// A privileged P (euid 0) writes them directly, as does an unprivileged
/// one whose map is the single line of its own id (for the gid map, after
/// `deny` goes to /proc/PID/setgroups, as the kernel requires); any other
/// map of an unprivileged P goes through newuidmap/newgidmap, which check
/// it against /etc/subuid and /etc/subgid.
pub(crate) fn write_id_maps(
    pid: i32,
    spec: &oci_spec::runtime::Spec,
) -> Result<(), NamespaceError> {
    let linux = spec.linux().as_ref();
    let privileged = nix::unistd::geteuid().is_root();
    let maps = [
        (
            "linux.uidMappings",
            "uid_map",
            linux.and_then(|l| l.uid_mappings().clone()),
            nix::unistd::geteuid().as_raw(),
        ),
        (
            "linux.gidMappings",
            "gid_map",
            linux.and_then(|l| l.gid_mappings().clone()),
            nix::unistd::getegid().as_raw(),
        ),
    ];
    for (field, file, map, own) in maps {
        let map = map.unwrap_or_default();
        if !privileged && !crate::map_tool::is_own_id(&map, own) {
            crate::map_tool::run(field, file, pid, &map)?;
            continue;
        }
        if !privileged && file == "gid_map" {
            std::fs::write(format!("/proc/{pid}/setgroups"), b"deny").map_err(|source| {
                NamespaceError::IdMap {
                    field,
                    pid,
                    file: "setgroups",
                    source,
                }
            })?;
        }
        let text = id_map_text(&map);
        std::fs::write(format!("/proc/{pid}/{file}"), text.as_bytes()).map_err(|source| {
            NamespaceError::IdMap {
                field,
                pid,
                file,
                source,
            }
        })?;
    }
    Ok(())
}

/// The host id that `0` maps to in an id map text, if any.
pub(crate) fn host_root(map: &str) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut f = line.split_whitespace().map(|x| x.parse::<u64>().ok());
        let (inside, outside, count) = (f.next()??, f.next()??, f.next()??);
        (inside == 0 && count > 0).then(|| u32::try_from(outside).ok())?
    })
}

/// In P: the host uid and gid that are root in the user namespace of `pid`.
pub(crate) fn host_root_of(pid: i32) -> Result<(u32, u32), NamespaceError> {
    let read = |what: &'static str| {
        std::fs::read_to_string(format!("/proc/{pid}/{what}_map"))
            .ok()
            .as_deref()
            .and_then(host_root)
            .ok_or(NamespaceError::NoRoot { pid, what })
    };
    Ok((read("uid")?, read("gid")?))
}

/// In P: give `path` to the container's root (`uid`:`gid` on the host).
pub(crate) fn chown_to(path: &std::path::Path, uid: u32, gid: u32) -> Result<(), NamespaceError> {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )
    .map_err(|source| NamespaceError::Chown {
        path: path.to_owned(),
        uid,
        gid,
        source,
    })
}

/// In C, once its user namespace has its maps: become uid and gid 0 of it,
/// so that what the setup creates belongs to the container's root.
pub(crate) fn become_root() -> Result<(), NamespaceError> {
    let root_g = nix::unistd::Gid::from_raw(0);
    nix::unistd::setresgid(root_g, root_g, root_g).map_err(NamespaceError::BecomeRoot)?;
    let root_u = nix::unistd::Uid::from_raw(0);
    nix::unistd::setresuid(root_u, root_u, root_u).map_err(NamespaceError::BecomeRoot)
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
    fn id_maps() {
        let maps: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":5,"size":1}]"#,
        )
        .expect("maps");
        let text = id_map_text(&maps);
        assert_eq!(text, "0 100000 65536\n65536 5 1\n");
        assert_eq!(host_root(&text), Some(100000));
        assert_eq!(host_root("         0          0 4294967295\n"), Some(0));
        assert_eq!(host_root("1 100000 10\n"), None);
        assert_eq!(host_root(""), None);
    }

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
