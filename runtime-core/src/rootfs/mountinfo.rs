//! /proc/self/mountinfo and /proc/self/cgroup, read once per container.

use std::path::{Path, PathBuf};

/// One line of mountinfo (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountInfo {
    /// The path inside the filesystem that is the root of this mount.
    pub(crate) root: PathBuf,
    pub(crate) mount_point: PathBuf,
    /// Optional fields: `shared:N`, `master:N`, `unbindable`...
    pub(crate) optional: Vec<String>,
    pub(crate) fstype: String,
    pub(crate) super_options: Vec<String>,
}

impl MountInfo {
    /// Whether the mount is shared or unbindable: a parent like this makes
    /// the rootfs bind propagate, or fail, and pivot_root refuse.
    pub(crate) fn needs_private(&self) -> bool {
        self.optional
            .iter()
            .any(|o| o.starts_with("shared:") || o == "unbindable")
    }
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u16, |v, c| v * 8 + u16::from(c - b'0'));
            out.push((v & 0xff) as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

/// Parse mountinfo text; malformed lines are skipped.
pub(crate) fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountInfo> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let (_id, _parent, _dev) = (l.next()?, l.next()?, l.next()?);
    let root = unescape(l.next()?);
    let mount_point = unescape(l.next()?);
    let _opts = l.next()?;
    let optional = l.map(str::to_owned).collect();
    let mut r = right.split(' ');
    let fstype = r.next()?.to_owned();
    let _source = r.next()?;
    let super_options = r
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_owned)
        .collect();
    Some(MountInfo {
        root,
        mount_point,
        optional,
        fstype,
        super_options,
    })
}

/// The mount `path` is on: the last-mounted entry whose mount point is the
/// longest prefix of `path` (mountinfo lists mounts in mount order).
pub(crate) fn containing<'a>(mounts: &'a [MountInfo], path: &Path) -> Option<&'a MountInfo> {
    let mut best: Option<&MountInfo> = None;
    for m in mounts {
        if path.starts_with(&m.mount_point)
            && best
                .is_none_or(|b| m.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len())
        {
            best = Some(m);
        }
    }
    best
}

/// One line of /proc/self/cgroup: the hierarchy's controllers (`cpu,cpuacct`,
/// `name=systemd`, empty for cgroup2) and the process's path in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnCgroup {
    pub(crate) controllers: Vec<String>,
    pub(crate) path: PathBuf,
}

pub(crate) fn parse_cgroup(text: &str) -> Vec<OwnCgroup> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_id, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
            let controllers = ctrl
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some(OwnCgroup {
                controllers,
                path: PathBuf::from(path),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
        50 27 0:50 /sub /tmp/my\\040dir rw master:3 unbindable - tmpfs tmpfs rw\n\
        bogus line\n";

    #[test]
    fn parses_lines_and_escapes() {
        let m = parse(INFO);
        assert_eq!(m.len(), 4);
        assert_eq!(m[2].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m[2].super_options, vec!["rw", "cpu", "cpuacct"]);
        assert_eq!(m[3].mount_point, Path::new("/tmp/my dir"));
        assert_eq!(m[3].root, Path::new("/sub"));
        assert_eq!(m[3].optional, vec!["master:3", "unbindable"]);
        assert!(m[0].needs_private() && m[3].needs_private() && !m[1].needs_private());
    }

    #[test]
    fn containing_mount() {
        let m = parse(INFO);
        let find = |p: &str| containing(&m, Path::new(p)).map(|e| e.mount_point.clone());
        assert_eq!(find("/tmp/rb/rootfs"), Some(PathBuf::from("/")));
        assert_eq!(find("/tmp/my dir/x"), Some(PathBuf::from("/tmp/my dir")));
        assert_eq!(
            find("/sys/fs/cgroup"),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        // A path component, not a string prefix.
        assert_eq!(find("/sys/fs/cgroupx"), Some(PathBuf::from("/")));
    }

    #[test]
    fn own_cgroups() {
        let c = parse_cgroup("9:name=systemd:/\n4:memory:/a/b\n1:cpu,cpuacct:/x\n0::/u\n");
        assert_eq!(c[0].controllers, vec!["name=systemd"]);
        assert_eq!(c[2].controllers, vec!["cpu", "cpuacct"]);
        assert!(c[3].controllers.is_empty());
        assert_eq!(c[1].path, Path::new("/a/b"));
    }
}
