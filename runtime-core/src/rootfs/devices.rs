//! /dev: `linux.devices`, the default devices and the /dev links
//! (runtime-linux.md), unless /dev is a bind mount.

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::{makedev, SFlag};
use oci_spec::runtime::{LinuxDeviceType, Spec};

use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::mount::mount;
use nix::sys::stat::{fstat, fstatat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::kernel::{Create, Kernel, Op, Source};
use super::paths::{is_bind_mount, is_dev};
use super::resolve::Root;
use super::RootfsError;
use crate::procfs::fd_name;

/// The devices every container gets: (path, major, minor), char, 0666, root.
const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// (target, link).
const LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
];

/// Whether skiff populates /dev: not when the spec binds something there.
pub(crate) fn needed(spec: &Spec) -> bool {
    !spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| is_dev(m) && is_bind_mount(m))
}

/// A node to make: the mknod op, and where the spec listed it (None: a default).
fn nodes(spec: &Spec) -> Result<Vec<(Option<usize>, Op)>, RootfsError> {
    let listed = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    let mut out = Vec::new();
    for (i, d) in listed.into_iter().flatten().enumerate() {
        let entry = |why| RootfsError::Entry {
            field: "linux.devices",
            index: i,
            path: d.path().clone(),
            source: Box::new(RootfsError::Device { why }),
        };
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => return Err(entry("type \"a\" is for cgroup rules, not a node")),
        };
        let (Ok(major), Ok(minor)) = (u64::try_from(d.major()), u64::try_from(d.minor())) else {
            return Err(entry("negative major or minor number"));
        };
        let dev = if kind == SFlag::S_IFIFO {
            0
        } else {
            makedev(major, minor)
        };
        let perm = d.file_mode().map_or(0o666, |m| m & 0o7777);
        let (uid, gid) = (d.uid().unwrap_or(0), d.gid().unwrap_or(0));
        out.push((
            Some(i),
            Op::Mknod {
                dest: d.path().clone(),
                kind,
                perm,
                dev,
                uid,
                gid,
            },
        ));
    }
    for (path, major, minor) in DEFAULT_DEVICES {
        // A device the spec lists at the same path replaces the default.
        if !out
            .iter()
            .any(|(_, op)| matches!(op, Op::Mknod { dest, .. } if dest == Path::new(path)))
        {
            let dest = PathBuf::from(path);
            out.push((
                None,
                Op::Mknod {
                    dest,
                    kind: SFlag::S_IFCHR,
                    perm: 0o666,
                    dev: makedev(*major, *minor),
                    uid: 0,
                    gid: 0,
                },
            ));
        }
    }
    Ok(out)
}

/// Make each device (mknod; where that is not permitted, a bind of the
/// host's node at the same path, as runc does), then the links. `kcore`:
/// whether /proc/kcore exists (for the /dev/core link).
pub(crate) fn create(k: &mut dyn Kernel, spec: &Spec, kcore: bool) -> Result<(), RootfsError> {
    for (index, op) in nodes(spec)? {
        let Op::Mknod { dest, .. } = &op else {
            continue;
        };
        let made = match k.apply(&op) {
            Err(e) if e.errno() == Some(nix::Error::EPERM) => k.apply(&Op::Mount {
                source: Source::Host(dest.clone()),
                dest: dest.clone(),
                create: Create::File,
                fstype: None,
                flags: MsFlags::MS_BIND,
                data: String::new(),
            }),
            r => r,
        };
        made.map_err(|e| match index {
            Some(index) => RootfsError::Entry {
                field: "linux.devices",
                index,
                path: dest.clone(),
                source: Box::new(e),
            },
            None => e,
        })?;
    }
    let core = kcore.then_some(("/proc/kcore", "/dev/core"));
    for (target, link) in LINKS.iter().copied().chain(core) {
        k.apply(&Op::Symlink {
            target: target.into(),
            link: link.into(),
            replace: false,
        })?;
    }
    // runtime-linux.md: /dev/ptmx is the devpts instance's ptmx.
    k.apply(&Op::Symlink {
        target: "pts/ptmx".into(),
        link: "/dev/ptmx".into(),
        replace: true,
    })
}

/// With a terminal: bind the pty slave `slave` (an open fd of it) onto
/// /dev/console, as runc does; for tty setup, after pivot_root.
///
/// CVE-2025-52565: nothing of the image decides what is bound or where.
/// The source is the slave's own fd (not its /dev/pts path, which the image
/// may have made a symlink), and /dev/console is made a plain file first
/// (a symlink or anything else there is removed), opened without following
/// symlinks, and refused if it is on procfs.
pub(crate) fn mount_console(slave: &OwnedFd) -> Result<(), RootfsError> {
    let dest = Path::new("/dev/console");
    let root = Root::open(Path::new("/"))?;
    let (dir, name) = root.open_parent(dest)?;
    match fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG => {}
        Ok(_) => {
            unlinkat(&dir, name, UnlinkatFlags::NoRemoveDir).map_err(super::sys("remove", dest))?
        }
        Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(super::sys("stat", dest)(e)),
    }
    match openat(
        &dir,
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    ) {
        Ok(_) | Err(nix::Error::EEXIST) => {}
        Err(e) => return Err(super::sys("create", dest)(e)),
    }
    let target = openat(
        &dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(super::sys("open", dest))?;
    let st = fstat(&target).map_err(super::sys("stat", dest))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG
        || crate::procfs::is_procfs(target.as_fd())
    {
        return Err(RootfsError::Device {
            why: "/dev/console is not a plain file of the container",
        });
    }
    super::live::at_fds(|| {
        mount(
            Some(&fd_name(slave)),
            &fd_name(&target),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    })?
    .map_err(super::sys("bind pty onto", dest))
}

#[cfg(test)]
mod tests {
    use super::super::kernel::fake::Recorder;
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).expect("spec json")
    }

    #[test]
    fn devices_defaults_links_and_fallback() {
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"devices":[
                {"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":384,"uid":1,"gid":2},
                {"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":432},
                {"path":"/dev/sda","type":"b","major":8,"minor":0}]}}"#,
        );
        let mut k = Recorder::default();
        // mknod of block devices is refused: bind the host's.
        k.fail.push((
            |op| {
                matches!(
                    op,
                    Op::Mknod {
                        kind: SFlag::S_IFBLK,
                        ..
                    }
                )
            },
            nix::Error::EPERM,
        ));
        create(&mut k, &s, false).expect("create");
        assert_eq!(
            k.ops[0],
            Op::Mknod {
                dest: "/dev/fuse".into(),
                kind: SFlag::S_IFCHR,
                perm: 0o600,
                dev: makedev(10, 229),
                uid: 1,
                gid: 2
            }
        );
        assert!(
            matches!(&k.ops[1], Op::Mknod { perm: 0o660, .. }),
            "the listed /dev/null wins"
        );
        assert!(
            matches!(&k.ops[2], Op::Mount { source: Source::Host(p), create: Create::File, .. } if p == Path::new("/dev/sda"))
        );
        let nulls = k
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Mknod { dest, .. } if dest == Path::new("/dev/null")))
            .count();
        assert_eq!(nulls, 1);
        let links: Vec<_> = k
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Symlink { .. }))
            .collect();
        assert_eq!(links.len(), 5);
        assert_eq!(
            k.ops.last(),
            Some(&Op::Symlink {
                target: "pts/ptmx".into(),
                link: "/dev/ptmx".into(),
                replace: true
            })
        );
    }

    #[test]
    fn errors_name_the_device() {
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"devices":[{"path":"/dev/x","type":"c","major":1,"minor":1}]}}"#,
        );
        let mut k = Recorder::default();
        k.fail
            .push((|op| matches!(op, Op::Mknod { .. }), nix::Error::EROFS));
        let e = create(&mut k, &s, true).expect_err("fails");
        assert!(
            e.to_string().starts_with("linux.devices[0] /dev/x: "),
            "{e}"
        );
        let bad = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"devices":[{"path":"/dev/x","type":"a"}]}}"#,
        );
        assert!(create(&mut Recorder::default(), &bad, true).is_err());
    }

    #[test]
    fn bind_of_dev_skips_population() {
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"mounts":[{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}]}"#,
        );
        assert!(!needed(&s));
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"mounts":[{"destination":"/dev","type":"tmpfs","source":"tmpfs"}]}"#,
        );
        assert!(needed(&s));
    }
}
