//! A mount of type `cgroup`: what runc makes of it, planned from the host's
//! mountinfo.
//!
//! - Pure cgroup2 host (`/sys/fs/cgroup` is cgroup2): mount cgroup2 there;
//!   if the kernel refuses (EPERM/EBUSY, no cgroup namespace), bind the
//!   process's own cgroup from the host instead.
//! - cgroup v1 or hybrid host: a tmpfs at the destination, then one
//!   directory per hierarchy the host has mounted (named as on the host, so
//!   `cpu,cpuacct` stays one directory with `cpu` and `cpuacct` links to
//!   it; a hybrid host's cgroup2 `unified` too). With a cgroup namespace each
//!   is a fresh mount of the hierarchy (the namespace shows only its own
//!   subtree); without one, a bind of the process's own cgroup directory, as
//!   runc does. `ro` (and the other flags) go on every hierarchy, and `ro`
//!   on the tmpfs too, after the links are made.

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::kernel::{Create, Op, Source};
use super::mountinfo::{MountInfo, OwnCgroup};
use super::options::Options;

/// The host's cgroup mount point.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Super options of a v1 cgroup mount that are not controllers.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
    "none",
];

/// The ops for a cgroup mount, and for cgroup2 what to do instead when
/// the kernel refuses to mount it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) ops: Vec<Op>,
    pub(crate) fallback: Vec<Op>,
}

/// A host hierarchy: its name (the base name of its mount point) and mount.
struct Hierarchy<'a> {
    name: String,
    mount: &'a MountInfo,
}

/// The controllers of a v1 mount, as mount(2) data: `cpu,cpuacct`, `name=systemd`.
fn controllers(m: &MountInfo) -> Vec<&str> {
    m.super_options
        .iter()
        .map(String::as_str)
        .filter(|o| !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent="))
        .collect()
}

/// The host's hierarchies, one per name, in mountinfo order.
fn hierarchies(mounts: &[MountInfo]) -> Vec<Hierarchy<'_>> {
    let mut out: Vec<Hierarchy<'_>> = Vec::new();
    for m in mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
    {
        let Some(name) = m.mount_point.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if m.mount_point.parent() == Some(Path::new(CGROUP_ROOT))
            && !out.iter().any(|h| h.name == name)
        {
            out.push(Hierarchy {
                name: name.to_owned(),
                mount: m,
            });
        }
    }
    out
}

/// The host directory of the process's own cgroup in hierarchy `m`.
fn own_dir(m: &MountInfo, own: &[OwnCgroup]) -> PathBuf {
    let mut want: Vec<&str> = if m.fstype == "cgroup2" {
        Vec::new()
    } else {
        controllers(m)
    };
    want.sort_unstable();
    let line = own.iter().find(|c| {
        let mut have: Vec<&str> = c.controllers.iter().map(String::as_str).collect();
        have.sort_unstable();
        have == want
    });
    match line.and_then(|c| c.path.strip_prefix(&m.root).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => m.mount_point.join(rel),
        _ => m.mount_point.clone(),
    }
}

fn bind(source: PathBuf, dest: &Path, flags: MsFlags) -> Vec<Op> {
    let mut ops = vec![Op::Mount {
        source: Source::Host(source),
        dest: dest.to_owned(),
        create: Create::Dir,
        fstype: None,
        flags: MsFlags::MS_BIND | MsFlags::MS_REC,
        data: String::new(),
    }];
    if !flags.is_empty() {
        ops.push(Op::Remount {
            dest: dest.to_owned(),
            flags,
        });
    }
    ops
}

fn propagate(ops: &mut Vec<Op>, dest: &Path, opts: &Options) {
    ops.extend(opts.propagation.iter().map(|p| Op::Propagate {
        dest: dest.to_owned(),
        flags: *p,
    }));
}

/// Plan the cgroup mount at `dest`. `own` is the process's cgroups, or `None`
/// in a cgroup namespace (fresh mounts).
pub(crate) fn plan(
    dest: &Path,
    opts: &Options,
    mounts: &[MountInfo],
    own: Option<&[OwnCgroup]>,
) -> Plan {
    let flags = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    let unified = mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == Path::new(CGROUP_ROOT));
    if let Some(m) = unified.filter(|m| m.fstype == "cgroup2") {
        let mut p = Plan::default();
        p.ops.push(Op::Mount {
            source: Source::Named("cgroup".into()),
            dest: dest.to_owned(),
            create: Create::Dir,
            fstype: Some("cgroup2".into()),
            flags,
            data: opts.data.clone(),
        });
        propagate(&mut p.ops, dest, opts);
        if let Some(own) = own {
            p.fallback = bind(own_dir(m, own), dest, flags);
            propagate(&mut p.fallback, dest, opts);
        }
        return p;
    }
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    let mut ops = vec![Op::Mount {
        source: Source::Named("tmpfs".into()),
        dest: dest.to_owned(),
        create: Create::Dir,
        fstype: Some("tmpfs".into()),
        flags: base,
        data: "mode=755".into(),
    }];
    propagate(&mut ops, dest, opts);
    for h in hierarchies(mounts) {
        let sub = dest.join(&h.name);
        match own {
            Some(own) => ops.extend(bind(own_dir(h.mount, own), &sub, flags)),
            None => {
                let v2 = h.mount.fstype == "cgroup2";
                ops.push(Op::Mount {
                    source: Source::Named("cgroup".into()),
                    dest: sub.clone(),
                    create: Create::Dir,
                    fstype: Some(if v2 { "cgroup2" } else { "cgroup" }.into()),
                    flags,
                    data: if v2 {
                        String::new()
                    } else {
                        controllers(h.mount).join(",")
                    },
                });
            }
        }
        propagate(&mut ops, &sub, opts);
        if h.name.contains(',') {
            for part in h.name.split(',').filter(|p| *p != h.name) {
                ops.push(Op::Symlink {
                    target: PathBuf::from(&h.name),
                    link: dest.join(part),
                    replace: false,
                });
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        ops.push(Op::Remount {
            dest: dest.to_owned(),
            flags: base | MsFlags::MS_RDONLY,
        });
    }
    Plan {
        ops,
        fallback: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{mountinfo, options};
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const OWN: &str = "9:name=systemd:/\n4:memory:/box/c1\n2:cpuacct,cpu:/c1\n0::/c1\n";

    fn opts() -> Options {
        let o: Vec<String> = ["nosuid", "noexec", "nodev", "relatime", "ro"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        options::parse(&o).expect("options")
    }

    fn mounts_of(ops: &[Op]) -> Vec<(String, String, String)> {
        ops.iter()
            .filter_map(|op| match op {
                Op::Mount {
                    source,
                    dest,
                    fstype,
                    data,
                    ..
                } => Some((
                    format!("{source:?}"),
                    dest.display().to_string(),
                    format!("{}:{data}", fstype.as_deref().unwrap_or("bind")),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn v1_fresh_in_cgroup_namespace() {
        let m = mountinfo::parse(HYBRID);
        let p = plan(Path::new("/sys/fs/cgroup"), &opts(), &m, None);
        let got = mounts_of(&p.ops);
        let want = [
            ("/sys/fs/cgroup", "tmpfs:mode=755"),
            ("/sys/fs/cgroup/cpu,cpuacct", "cgroup:cpu,cpuacct"),
            ("/sys/fs/cgroup/memory", "cgroup:memory"),
            ("/sys/fs/cgroup/systemd", "cgroup:name=systemd"),
            ("/sys/fs/cgroup/unified", "cgroup2:"),
        ];
        assert_eq!(
            got.iter()
                .map(|g| (g.1.as_str(), g.2.as_str()))
                .collect::<Vec<_>>(),
            want
        );
        let ro = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV | MsFlags::MS_RDONLY;
        assert!(p
            .ops
            .iter()
            .any(|op| matches!(op, Op::Mount { flags, fstype: Some(t), .. }
            if t == "cgroup" && *flags == ro | MsFlags::MS_RELATIME)));
        assert!(p.ops.contains(&Op::Symlink {
            target: "cpu,cpuacct".into(),
            link: "/sys/fs/cgroup/cpuacct".into(),
            replace: false
        }));
        // The tmpfs goes read-only last, after the links are made in it.
        assert_eq!(
            p.ops.last(),
            Some(&Op::Remount {
                dest: "/sys/fs/cgroup".into(),
                flags: ro
            })
        );
        assert!(p.fallback.is_empty());
    }

    #[test]
    fn v1_binds_own_cgroup_without_namespace() {
        let m = mountinfo::parse(HYBRID);
        let own = mountinfo::parse_cgroup(OWN);
        let p = plan(Path::new("/sys/fs/cgroup"), &opts(), &m, Some(&own));
        let sources: Vec<String> = mounts_of(&p.ops).into_iter().map(|g| g.0).collect();
        assert_eq!(
            sources[1..],
            [
                "Host(\"/sys/fs/cgroup/cpu,cpuacct/c1\")",
                "Host(\"/sys/fs/cgroup/memory/box/c1\")",
                "Host(\"/sys/fs/cgroup/systemd\")",
                "Host(\"/sys/fs/cgroup/unified/c1\")"
            ]
        );
        let remounts = p
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Remount { .. }))
            .count();
        assert_eq!(remounts, 5, "each bind and the tmpfs");
    }

    #[test]
    fn pure_v2() {
        let m =
            mountinfo::parse("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        let own = mountinfo::parse_cgroup("0::/user.slice/c1\n");
        let p = plan(Path::new("/sys/fs/cgroup"), &opts(), &m, Some(&own));
        assert_eq!(
            mounts_of(&p.ops),
            [(
                "Named(\"cgroup\")".into(),
                "/sys/fs/cgroup".into(),
                "cgroup2:".into()
            )]
        );
        assert_eq!(
            mounts_of(&p.fallback)[0].0,
            "Host(\"/sys/fs/cgroup/user.slice/c1\")"
        );
    }
}
