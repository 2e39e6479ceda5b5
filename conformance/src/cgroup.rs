//! The host's cgroups as the tests see them: whether the host is pure cgroup v2, where a
//! process's cgroup is for a controller, and reading its files. Tests pick the v1 or v2 file
//! name with [`is_v2`], so that the same test runs on the hybrid host and in the v2 lane.

use std::path::{Path, PathBuf};

/// A cgroup mount: its mount point, and for v1 its controllers (empty for cgroup2).
#[derive(Debug, Clone)]
struct Mount {
    point: PathBuf,
    v2: bool,
    controllers: Vec<String>,
}

fn mounts() -> Vec<Mount> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let point = PathBuf::from(left.split(' ').nth(4)?);
            let mut r = right.split(' ');
            let (fstype, _, opts) = (r.next()?, r.next()?, r.next()?);
            match fstype {
                "cgroup2" => Some(Mount {
                    point,
                    v2: true,
                    controllers: Vec::new(),
                }),
                "cgroup" => Some(Mount {
                    point,
                    v2: false,
                    controllers: opts.split(',').map(str::to_owned).collect(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// True on a pure cgroup v2 host (cgroup2 mounted at /sys/fs/cgroup, no v1 hierarchy).
pub fn is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

fn unified_mount() -> Option<PathBuf> {
    mounts().into_iter().find(|m| m.v2).map(|m| m.point)
}

/// Whether the host has `controller`: a v1 hierarchy of it, or in the cgroup2 root's
/// `cgroup.controllers`.
pub fn has_controller(controller: &str) -> bool {
    if mounts()
        .iter()
        .any(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
    {
        return true;
    }
    unified_mount()
        .and_then(|u| std::fs::read_to_string(u.join("cgroup.controllers")).ok())
        .is_some_and(|c| c.split_whitespace().any(|c| c == controller))
}

/// The cgroup directory of `pid` for `controller`: its v1 hierarchy's, else the cgroup2 one
/// (a v2 host, or a hybrid host whose controller lives in the unified tree).
pub fn dir(pid: i32, controller: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mounts = mounts();
    let mut unified_path = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            unified_path = Some(rel.to_owned());
            continue;
        }
        if ctrls.split(',').any(|c| c == controller) {
            let m = mounts
                .iter()
                .find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))?;
            return Some(m.point.join(rel));
        }
    }
    let unified = mounts.iter().find(|m| m.v2)?;
    Some(unified.point.join(unified_path?))
}

/// `file` of `pid`'s cgroup for `controller`, trimmed; `None` if it cannot be read.
pub fn read(pid: i32, controller: &str, file: &str) -> Option<String> {
    let d = dir(pid, controller)?;
    std::fs::read_to_string(d.join(file))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Every cgroup directory of `pid` (one per hierarchy it is in), for a leak check after the
/// container is gone.
pub fn all_dirs(pid: i32) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let mounts = mounts();
    let mut dirs = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        let mount = if ctrls.is_empty() {
            mounts.iter().find(|m| m.v2)
        } else {
            let first = ctrls.split(',').next().unwrap_or_default();
            mounts
                .iter()
                .find(|m| !m.v2 && m.controllers.iter().any(|c| c == first))
        };
        if let Some(m) = mount {
            if !rel.is_empty() {
                dirs.push(m.point.join(rel));
            }
        }
    }
    dirs
}

/// A whole-disk block device (`major:minor`) for block I/O throttles: the one under `/` when
/// it is a block device (its disk if it is a partition), else the first of /sys/block.
pub fn block_device() -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let parse = |s: &str| {
        let (a, b) = s.trim().split_once(':')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let dev = std::fs::metadata("/").ok()?.dev();
    let (major, minor) = (libc::major(dev) as u64, libc::minor(dev) as u64);
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if sys.exists() {
        if sys.join("partition").exists() {
            let disk = std::fs::canonicalize(&sys).ok()?.parent()?.join("dev");
            return parse(&std::fs::read_to_string(disk).ok()?);
        }
        return Some((major, minor));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries
        .iter()
        .find_map(|p| parse(&std::fs::read_to_string(p.join("dev")).ok()?))
}

/// Whether a v1 hierarchy of `controller` is mounted (else, on a hybrid host, it may live in
/// the unified tree).
pub fn v1_has(controller: &str) -> bool {
    mounts()
        .iter()
        .any(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
}

/// Whether swap is accounted (v1: memory.memsw.* files; v2: assumed, as on current kernels).
pub fn swap_accounted() -> bool {
    if is_v2() {
        return true;
    }
    mounts()
        .iter()
        .find(|m| !m.v2 && m.controllers.iter().any(|c| c == "memory"))
        .is_some_and(|m| m.point.join("memory.memsw.limit_in_bytes").exists())
}
