//! One entry of `mounts`, and the masked and readonly paths: planned as
//! [`Op`]s and carried out by a [`Kernel`].

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use super::kernel::{Create, FileKind, Kernel, Op, Source};
use super::mountinfo::{self, MountInfo, OwnCgroup};
use super::{cgroup, options, RootfsError};

/// What a mount may need to know of the host, read at most once per container.
#[derive(Debug, Default)]
pub(crate) struct HostView {
    mountinfo: Option<Vec<MountInfo>>,
    cgroups: Option<Vec<OwnCgroup>>,
}

fn read(path: &'static str) -> Result<String, RootfsError> {
    std::fs::read_to_string(path).map_err(|e| RootfsError::Sys {
        what: "read",
        path: path.into(),
        source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)),
    })
}

impl HostView {
    #[cfg(test)]
    pub(crate) fn with(mountinfo: &str, cgroups: &str) -> Self {
        Self {
            mountinfo: Some(mountinfo::parse(mountinfo)),
            cgroups: Some(mountinfo::parse_cgroup(cgroups)),
        }
    }

    /// This process's mount table (the host's, in C before pivot_root).
    pub(crate) fn mountinfo(&mut self) -> Result<&[MountInfo], RootfsError> {
        if self.mountinfo.is_none() {
            self.mountinfo = Some(mountinfo::parse(&read("/proc/self/mountinfo")?));
        }
        Ok(self.mountinfo.as_deref().unwrap_or_default())
    }

    fn load_cgroups(&mut self) -> Result<(), RootfsError> {
        if self.cgroups.is_none() {
            self.cgroups = Some(mountinfo::parse_cgroup(&read("/proc/self/cgroup")?));
        }
        Ok(())
    }
}

/// What a mount is planned against.
pub(crate) struct Context<'a> {
    /// Relative bind sources are relative to the bundle, as in runc.
    pub(crate) bundle: &'a Path,
    /// Whether the container has its own cgroup namespace.
    pub(crate) cgroupns: bool,
    pub(crate) host: &'a mut HostView,
    /// `linux.mountLabel` (SELinux `context=` of new mounts but proc, sysfs
    /// and mqueue; binds and cgroup mounts take none).
    pub(crate) mount_label: Option<&'a str>,
}

fn is_bind(m: &Mount, flags: MsFlags) -> bool {
    flags.contains(MsFlags::MS_BIND) || m.typ().as_deref() == Some("bind")
}

/// Whether `m` mounts over the container's /dev (cleaned as runc does).
pub(crate) fn is_dev(m: &Mount) -> bool {
    let mut parts = m
        .destination()
        .components()
        .filter(|c| matches!(c, Component::Normal(_)));
    parts.next() == Some(Component::Normal(OsStr::new("dev"))) && parts.next().is_none()
}

/// Whether `m` is a bind mount (by type or option).
pub(crate) fn is_bind_mount(m: &Mount) -> bool {
    let o = m.options().as_deref().unwrap_or_default();
    m.typ().as_deref() == Some("bind") || o.iter().any(|o| o == "bind" || o == "rbind")
}

/// The ops for `m`, except a cgroup mount.
fn plan(
    m: &Mount,
    opts: &options::Options,
    bundle: &Path,
    mount_label: Option<&str>,
) -> Result<Vec<Op>, RootfsError> {
    let dest = m.destination().clone();
    let typ = m.typ().as_deref().unwrap_or("");
    let mut ops = Vec::new();
    if is_bind(m, opts.flags) {
        let src = m.source().as_deref().ok_or(RootfsError::NoSource)?;
        let src = if src.is_relative() {
            bundle.join(src)
        } else {
            src.to_owned()
        };
        let bind = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        ops.push(Op::Mount {
            source: Source::Host(src),
            dest: dest.clone(),
            create: Create::LikeSource,
            fstype: None,
            flags: bind,
            data: String::new(),
        });
        // A bind takes its source's flags; its own take a remount.
        let own = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !own.is_empty() {
            ops.push(Op::Remount {
                dest: dest.clone(),
                flags: own,
            });
        }
    } else {
        let mut flags = opts.flags;
        if is_dev(m) {
            // Populated first; finish() makes it read-only.
            flags.remove(MsFlags::MS_RDONLY);
        }
        let source = m
            .source()
            .as_deref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| typ.to_owned());
        ops.push(Op::Mount {
            source: Source::Named(source),
            dest: dest.clone(),
            create: Create::Dir,
            fstype: Some(typ.to_owned()),
            flags,
            data: crate::process::lsm::mount_data(typ, &opts.data, mount_label),
        });
    }
    ops.extend(opts.propagation.iter().map(|p| Op::Propagate {
        dest: dest.clone(),
        flags: *p,
    }));
    if !opts.recursive.is_empty() {
        ops.push(Op::SetAttr {
            dest,
            attr: opts.recursive,
        });
    }
    Ok(ops)
}

/// Mount `m` inside the root.
pub(crate) fn mount_one(
    k: &mut dyn Kernel,
    m: &Mount,
    cx: &mut Context<'_>,
) -> Result<(), RootfsError> {
    let opts = options::parse(m.options().as_deref().unwrap_or_default())?;
    if m.typ().as_deref() != Some("cgroup") || is_bind(m, opts.flags) {
        return plan(m, &opts, cx.bundle, cx.mount_label)?
            .iter()
            .try_for_each(|op| apply(k, op));
    }
    cx.host.mountinfo()?;
    if !cx.cgroupns {
        cx.host.load_cgroups()?;
    }
    let host = &*cx.host;
    let mounts = host.mountinfo.as_deref().unwrap_or_default();
    let own = if cx.cgroupns {
        None
    } else {
        host.cgroups.as_deref()
    };
    let plan = cgroup::plan(m.destination(), &opts, mounts, own);
    let (first, rest) = plan.ops.split_first().ok_or(RootfsError::NoSource)?;
    match k.apply(first) {
        Err(e)
            if !plan.fallback.is_empty()
                && matches!(e.errno(), Some(nix::Error::EPERM | nix::Error::EBUSY)) =>
        {
            return plan.fallback.iter().try_for_each(|op| apply(k, op));
        }
        r => r?,
    }
    rest.iter().try_for_each(|op| apply(k, op))?;
    if !opts.recursive.is_empty() {
        k.apply(&Op::SetAttr {
            dest: m.destination().clone(),
            attr: opts.recursive,
        })?;
    }
    Ok(())
}

/// Apply `op`; a remount the kernel refuses (flags locked on the mount) is
/// retried keeping the flags the mount has.
fn apply(k: &mut dyn Kernel, op: &Op) -> Result<(), RootfsError> {
    match (k.apply(op), op) {
        (Err(e), Op::Remount { dest, flags }) if e.errno() == Some(nix::Error::EPERM) => {
            let kept = k.mount_flags(dest)? - MsFlags::MS_RDONLY;
            k.apply(&Op::Remount {
                dest: dest.clone(),
                flags: *flags | kept,
            })
        }
        (r, _) => r,
    }
}

/// Hide `path`: a read-only tmpfs over a directory (with `linux.mountLabel`
/// as its `context=`, as runc), the container's real /dev/null over anything
/// else. A path that does not exist is fine.
pub(crate) fn mask(
    k: &mut dyn Kernel,
    path: &Path,
    mount_label: Option<&str>,
) -> Result<(), RootfsError> {
    let dest = path.to_owned();
    let op = match k.kind(path)? {
        None => return Ok(()),
        Some(FileKind::Dir) => Op::Mount {
            source: Source::Named("tmpfs".into()),
            dest,
            create: Create::Never,
            fstype: Some("tmpfs".into()),
            flags: MsFlags::MS_RDONLY,
            data: crate::process::lsm::mount_data("tmpfs", "", mount_label),
        },
        Some(FileKind::Other) => Op::Mount {
            source: Source::DevNull,
            dest,
            create: Create::Never,
            fstype: None,
            flags: MsFlags::MS_BIND,
            data: String::new(),
        },
    };
    k.apply(&op)
}

/// Make `path` read-only with a bind of itself, keeping the flags its mount
/// has (nosuid, nodev, noexec, atime). A path that does not exist is fine.
pub(crate) fn make_readonly(k: &mut dyn Kernel, path: &Path) -> Result<(), RootfsError> {
    if k.kind(path)?.is_none() {
        return Ok(());
    }
    let dest = PathBuf::from(path);
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    k.apply(&Op::Mount {
        source: Source::Itself,
        dest: dest.clone(),
        create: Create::Never,
        fstype: None,
        flags: bind,
        data: String::new(),
    })?;
    remount_readonly(k, path)
}

/// Remount the mount at `path` read-only, keeping its other flags.
pub(crate) fn remount_readonly(k: &mut dyn Kernel, path: &Path) -> Result<(), RootfsError> {
    let flags = k.mount_flags(path)? | MsFlags::MS_RDONLY;
    k.apply(&Op::Remount {
        dest: path.to_owned(),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::kernel::fake::Recorder;
    use super::*;

    fn mount(json: &str) -> Mount {
        serde_json::from_str(json).expect("mount json")
    }

    fn run(
        m: &Mount,
        k: &mut Recorder,
        host: &mut HostView,
        cgroupns: bool,
    ) -> Result<(), RootfsError> {
        let mut cx = Context {
            bundle: Path::new("/bundle"),
            cgroupns,
            host,
            mount_label: None,
        };
        mount_one(k, m, &mut cx)
    }

    #[test]
    fn bind_relative_source_remount_and_recursive() {
        let m = mount(
            r#"{"destination":"/data","type":"none","source":"vol","options":["rbind","ro","nosuid","rnoexec","rslave"]}"#,
        );
        let mut k = Recorder::default();
        run(&m, &mut k, &mut HostView::default(), false).expect("mount");
        let ro_nosuid = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID;
        assert_eq!(
            k.ops,
            vec![
                Op::Mount {
                    source: Source::Host("/bundle/vol".into()),
                    dest: "/data".into(),
                    create: Create::LikeSource,
                    fstype: None,
                    flags: MsFlags::MS_BIND | MsFlags::MS_REC,
                    data: String::new()
                },
                Op::Remount {
                    dest: "/data".into(),
                    flags: ro_nosuid
                },
                Op::Propagate {
                    dest: "/data".into(),
                    flags: MsFlags::MS_SLAVE | MsFlags::MS_REC
                },
                Op::SetAttr {
                    dest: "/data".into(),
                    attr: options::RecursiveAttr {
                        set: options::attr::NOEXEC,
                        clear: 0
                    }
                },
            ]
        );
    }

    #[test]
    fn locked_flags_kept_on_remount() {
        let m = mount(r#"{"destination":"/data","type":"bind","source":"/src","options":["ro"]}"#);
        let mut k = Recorder::default();
        k.fail.push((
            |op| matches!(op, Op::Remount { flags, .. } if !flags.contains(MsFlags::MS_NODEV)),
            nix::Error::EPERM,
        ));
        k.flags
            .insert("/data".into(), MsFlags::MS_NODEV | MsFlags::MS_RDONLY);
        run(&m, &mut k, &mut HostView::default(), false).expect("mount");
        assert_eq!(
            k.ops[1],
            Op::Remount {
                dest: "/data".into(),
                flags: MsFlags::MS_RDONLY | MsFlags::MS_NODEV
            }
        );
    }

    #[test]
    fn dev_mounted_writable_first() {
        let m = mount(
            r#"{"destination":"/dev/","type":"tmpfs","source":"tmpfs","options":["ro","mode=755"]}"#,
        );
        let mut k = Recorder::default();
        run(&m, &mut k, &mut HostView::default(), false).expect("mount");
        assert!(
            matches!(&k.ops[0], Op::Mount { flags, data, .. } if flags.is_empty() && data == "mode=755")
        );
        assert!(is_dev(&m) && !is_bind_mount(&m));
    }

    #[test]
    fn mount_label_on_new_mounts_but_proc_sysfs_mqueue_and_binds() {
        let label = "system_u:object_r:container_file_t:s0";
        let cases = [
            (
                r#"{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["mode=1777"]}"#,
                format!("mode=1777,context=\"{label}\""),
            ),
            (
                r#"{"destination":"/dev/pts","type":"devpts","source":"devpts"}"#,
                format!("context=\"{label}\""),
            ),
            (
                r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
                String::new(),
            ),
            (
                r#"{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid"]}"#,
                String::new(),
            ),
            (
                r#"{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue"}"#,
                String::new(),
            ),
        ];
        for (json, want) in cases {
            let mut k = Recorder::default();
            let mut host = HostView::default();
            let mut cx = Context {
                bundle: Path::new("/bundle"),
                cgroupns: false,
                host: &mut host,
                mount_label: Some(label),
            };
            mount_one(&mut k, &mount(json), &mut cx).expect("mount");
            assert!(
                matches!(&k.ops[0], Op::Mount { data, .. } if *data == want),
                "{json}: {:?}",
                k.ops
            );
        }
        let bind = mount(r#"{"destination":"/d","type":"bind","source":"/s","options":["rbind"]}"#);
        let mut k = Recorder::default();
        let mut host = HostView::default();
        let mut cx = Context {
            bundle: Path::new("/bundle"),
            cgroupns: false,
            host: &mut host,
            mount_label: Some(label),
        };
        mount_one(&mut k, &bind, &mut cx).expect("bind");
        assert!(matches!(&k.ops[0], Op::Mount { data, .. } if data.is_empty()));
        // A masked directory's tmpfs takes it too; /dev/null over a file cannot.
        let mut k = Recorder::default();
        k.kinds.insert("/proc/acpi".into(), FileKind::Dir);
        k.kinds.insert("/proc/kcore".into(), FileKind::Other);
        mask(&mut k, Path::new("/proc/acpi"), Some(label)).expect("mask dir");
        mask(&mut k, Path::new("/proc/kcore"), Some(label)).expect("mask file");
        let want = format!("context=\"{label}\"");
        assert!(matches!(&k.ops[0], Op::Mount { data, .. } if *data == want));
        assert!(matches!(&k.ops[1], Op::Mount { data, .. } if data.is_empty()));
    }

    #[test]
    fn idmap_error_names_option() {
        let m = mount(r#"{"destination":"/d","type":"bind","source":"/s","options":["idmap"]}"#);
        let e = run(
            &m,
            &mut Recorder::default(),
            &mut HostView::default(),
            false,
        )
        .expect_err("refused");
        assert!(e.to_string().contains("idmap"), "{e}");
    }

    #[test]
    fn cgroup2_falls_back_to_bind() {
        let m = mount(
            r#"{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["ro"]}"#,
        );
        let mut host = HostView::with(
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "0::/c1\n",
        );
        let mut k = Recorder::default();
        k.fail.push((
            |op| matches!(op, Op::Mount { fstype: Some(t), .. } if t == "cgroup2"),
            nix::Error::EBUSY,
        ));
        run(&m, &mut k, &mut host, false).expect("mount");
        assert!(
            matches!(&k.ops[0], Op::Mount { source: Source::Host(p), .. } if p == Path::new("/sys/fs/cgroup/c1"))
        );
        assert_eq!(
            k.ops[1],
            Op::Remount {
                dest: "/sys/fs/cgroup".into(),
                flags: MsFlags::MS_RDONLY
            }
        );
    }

    #[test]
    fn masked_and_readonly() {
        let mut k = Recorder::default();
        k.kinds.insert("/proc/acpi".into(), FileKind::Dir);
        k.kinds.insert("/proc/kcore".into(), FileKind::Other);
        k.kinds.insert("/proc/sys".into(), FileKind::Dir);
        k.flags.insert(
            "/proc/sys".into(),
            MsFlags::MS_NOSUID | MsFlags::MS_RELATIME,
        );
        for p in ["/proc/acpi", "/proc/kcore", "/proc/absent"] {
            mask(&mut k, Path::new(p), None).expect("mask");
        }
        make_readonly(&mut k, Path::new("/proc/sys")).expect("ro");
        make_readonly(&mut k, Path::new("/proc/absent")).expect("ro absent");
        assert_eq!(k.ops.len(), 4);
        assert!(
            matches!(&k.ops[0], Op::Mount { source: Source::Named(t), flags, .. } if t == "tmpfs" && *flags == MsFlags::MS_RDONLY)
        );
        assert!(matches!(
            &k.ops[1],
            Op::Mount {
                source: Source::DevNull,
                ..
            }
        ));
        assert!(matches!(
            &k.ops[2],
            Op::Mount {
                source: Source::Itself,
                ..
            }
        ));
        let want = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_RELATIME;
        assert_eq!(
            k.ops[3],
            Op::Remount {
                dest: "/proc/sys".into(),
                flags: want
            }
        );
    }
}
