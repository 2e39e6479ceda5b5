//! Which cgroup hierarchies the host has (v1 controllers, the cgroup2 mount,
//! or both: hybrid), and where this process sits in each. Read from
//! /proc/self/mountinfo and /proc/self/cgroup, or set up on a test tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CgroupError;

/// The v1 controllers skiff knows, and the named hierarchy it also joins.
pub(crate) const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "rdma",
    "perf_event",
    "misc",
    "name=systemd",
];

/// The host's cgroup layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// v1 controller → the directory of this process's cgroup in it.
    pub(crate) v1_own: BTreeMap<String, PathBuf>,
    /// v1 controller → its mount point (the hierarchy root).
    pub(crate) v1_root: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount point.
    pub(crate) unified: Option<PathBuf>,
    /// This process's cgroup in the cgroup2 hierarchy, relative to its root.
    pub(crate) unified_own: PathBuf,
}

impl Hierarchy {
    /// The host's layout, as this process sees it.
    pub(crate) fn detect() -> Result<Self, CgroupError> {
        let read = |p: &str| {
            std::fs::read_to_string(p).map_err(|source| CgroupError::Io {
                op: "read",
                path: p.into(),
                source,
            })
        };
        let h = Self::parse(&read("/proc/self/mountinfo")?, &read("/proc/self/cgroup")?);
        if h.v1_root.is_empty() && h.unified.is_none() {
            return Err(CgroupError::NotMounted);
        }
        Ok(h)
    }

    /// A pure v1 layout on a test tree: one directory per controller under `root`.
    #[cfg(test)]
    pub(crate) fn v1_at(root: &Path, controllers: &[&str]) -> Self {
        let mut h = Self::v2_at(root);
        h.unified = None;
        for c in controllers {
            h.v1_root.insert((*c).to_owned(), root.join(c));
            h.v1_own.insert((*c).to_owned(), root.join(c));
        }
        h
    }

    /// A pure v2 layout on a test tree rooted at `root`.
    #[cfg(test)]
    pub(crate) fn v2_at(root: &Path) -> Self {
        Self {
            v1_own: BTreeMap::new(),
            v1_root: BTreeMap::new(),
            unified: Some(root.to_owned()),
            unified_own: PathBuf::from("/"),
        }
    }

    /// Parse mountinfo and /proc/self/cgroup.
    pub(crate) fn parse(mountinfo: &str, own: &str) -> Self {
        let mut h = Hierarchy {
            v1_own: BTreeMap::new(),
            v1_root: BTreeMap::new(),
            unified: None,
            unified_own: PathBuf::from("/"),
        };
        // /proc/self/cgroup: `ID:CONTROLLERS:PATH`; v2 is `0::PATH`.
        let mut own_v1: BTreeMap<&str, &str> = BTreeMap::new();
        for line in own.lines() {
            let mut f = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if ctrls.is_empty() {
                h.unified_own = PathBuf::from(path);
            }
            for c in ctrls.split(',').filter(|c| !c.is_empty()) {
                own_v1.insert(c, path);
            }
        }
        for m in mountinfo.lines().filter_map(CgroupMount::parse) {
            match m.fstype {
                "cgroup2" if h.unified.is_none() => h.unified = Some(m.mount_point.clone()),
                "cgroup" => {
                    for opt in m.super_options.split(',').map(str::to_owned) {
                        if !V1_CONTROLLERS.contains(&opt.as_str()) || h.v1_root.contains_key(&opt) {
                            continue;
                        }
                        let own_path = own_v1.get(opt.as_str()).copied().unwrap_or("/");
                        // Inside a cgroup namespace the mount's root is a subtree.
                        let rel = Path::new(own_path)
                            .strip_prefix(&m.root)
                            .unwrap_or(Path::new(""));
                        h.v1_own.insert(opt.clone(), m.mount_point.join(rel));
                        h.v1_root.insert(opt, m.mount_point.clone());
                    }
                }
                _ => {}
            }
        }
        h
    }
}

/// The fields of a mountinfo line (proc(5)) that matter here. Cgroup mount
/// points hold no spaces, so mountinfo's octal escapes are not undone.
struct CgroupMount<'a> {
    root: PathBuf,
    mount_point: PathBuf,
    fstype: &'a str,
    super_options: &'a str,
}

impl<'a> CgroupMount<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ').skip(3);
        let (root, mount_point) = (l.next()?, l.next()?);
        let mut r = right.split(' ');
        let (fstype, _source, super_options) = (r.next()?, r.next()?, r.next()?);
        Some(Self {
            root: PathBuf::from(root),
            mount_point: PathBuf::from(mount_point),
            fstype,
            super_options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/net rw,relatime - cgroup cgroup rw,net_cls,net_prio
";
    const OWN: &str = "9:name=systemd:/user.slice\n4:memory:/a/b\n1:cpu:/\n2:net_cls,net_prio:/\n0::/user.slice/s\n";

    #[test]
    fn hybrid_layout_parses() {
        let h = Hierarchy::parse(MOUNTINFO, OWN);
        assert_eq!(h.unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(h.unified_own, PathBuf::from("/user.slice/s"));
        assert_eq!(
            h.v1_own["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
        assert_eq!(h.v1_own["cpu"], PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(h.v1_root["net_prio"], PathBuf::from("/sys/fs/cgroup/net"));
        assert_eq!(
            h.v1_own["name=systemd"],
            PathBuf::from("/sys/fs/cgroup/systemd/user.slice")
        );
        assert!(!h.v1_root.contains_key("rw"));
    }

    #[test]
    fn pure_v2_has_no_v1() {
        let mi = "34 30 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let h = Hierarchy::parse(mi, "0::/init.scope\n");
        assert!(h.v1_root.is_empty());
        assert_eq!(h.unified, Some(PathBuf::from("/sys/fs/cgroup")));
    }
}
