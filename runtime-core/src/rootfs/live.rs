//! The real kernel behind [`Kernel`]: each op resolves its path inside the
//! root afresh (openat2 RESOLVE_IN_ROOT, so a mount made by an earlier op is
//! seen and no symlink leads out) and acts on `/proc/self/fd/N` or the fd.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, major, minor, mknodat, umask, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::kernel::{Create, FileKind, Kernel, Op, Source};
use super::options::{RecursiveAttr, MS_NOSYMFOLLOW};
use super::resolve::{Kind, ResolveError, Root};
use super::{sys, RootfsError};
use crate::procfs::fd_name;

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const AT_RECURSIVE: libc::c_int = 0x8000;

/// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, attr).
fn mount_setattr(fd: &OwnedFd, attr: RecursiveAttr) -> Result<(), nix::Error> {
    let a = MountAttr {
        attr_set: attr.set,
        attr_clr: attr.clear,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = c"";
    // SAFETY: `fd` is an open fd, `empty` a NUL-terminated string and `a` a
    // mount_attr laid out as the kernel's; all outlive the call, and the size
    // passed is the struct's.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH | AT_RECURSIVE,
            &a as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(nix::Error::last());
    }
    Ok(())
}

/// Make the detached mount `fd` (from open_tree) read-only.
pub(crate) fn make_read_only(fd: &OwnedFd) -> Result<(), nix::Error> {
    mount_setattr(
        fd,
        RecursiveAttr {
            set: super::options::attr::RDONLY,
            clear: 0,
        },
    )
}

/// statvfs `f_flag` bits to the mount flags a bind remount must repeat to
/// keep them.
pub(crate) fn flags_from_statvfs(bits: u64) -> MsFlags {
    const MAP: &[(u64, MsFlags)] = &[
        (libc::ST_RDONLY, MsFlags::MS_RDONLY),
        (libc::ST_NOSUID, MsFlags::MS_NOSUID),
        (libc::ST_NODEV, MsFlags::MS_NODEV),
        (libc::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (libc::ST_NOATIME, MsFlags::MS_NOATIME),
        (libc::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (libc::ST_RELATIME, MsFlags::MS_RELATIME),
        (0x2000, MS_NOSYMFOLLOW), // ST_NOSYMFOLLOW
    ];
    let mut flags = MAP
        .iter()
        .filter(|(st, _)| bits & st != 0)
        .fold(MsFlags::empty(), |f, (_, ms)| f | *ms);
    if !flags.intersects(MsFlags::MS_NOATIME | MsFlags::MS_RELATIME) {
        // Neither: strictatime, which a remount would otherwise turn into relatime.
        flags |= MsFlags::MS_STRICTATIME;
    }
    flags
}

/// The procfs files a spec mount may cover (runc's list, for lxcfs).
const PROC_BINDABLE: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/net/dev",
    "proc/sys/kernel/ns_last_pid",
];

/// Run a mount(2) whose paths are fd names (see [`fd_name`]) in the
/// runtime's own /proc/self/fd.
pub(super) fn at_fds<R>(f: impl FnOnce() -> R) -> Result<R, RootfsError> {
    crate::procfs::in_fd_dir(f).map_err(|e| RootfsError::Procfs(Box::new(e)))
}

/// The kernel, with paths resolved inside `root`.
pub(crate) struct Live {
    root: Root,
    /// Whether mounts onto procfs are refused (the spec's `mounts`).
    guard_proc: bool,
    /// Whether a mount at a path under /proc must land on procfs (masked
    /// and readonly paths).
    proc_stays_proc: bool,
}

impl Live {
    #[cfg(test)]
    pub(crate) fn new(root: Root) -> Self {
        Self {
            root,
            guard_proc: false,
            proc_stays_proc: false,
        }
    }

    /// A kernel for the masked and readonly paths: a path under /proc must
    /// resolve onto procfs at the moment it is mounted over, or a symlink or
    /// a raced mount has moved it (CVE-2019-19921, CVE-2023-27561).
    pub(crate) fn for_masks(root: Root) -> Self {
        Self {
            root,
            guard_proc: false,
            proc_stays_proc: true,
        }
    }

    /// A kernel for the spec's `mounts`: see [`Live::guard`].
    pub(crate) fn for_spec_mounts(root: Root) -> Self {
        Self {
            root,
            guard_proc: true,
            proc_stays_proc: false,
        }
    }

    fn target(
        &self,
        dest: &Path,
        create: Create,
        source: Option<&OwnedFd>,
    ) -> Result<OwnedFd, RootfsError> {
        let kind = match create {
            Create::Never => return Ok(self.root.lookup(dest)?),
            Create::Dir => Kind::Dir,
            Create::File => Kind::File,
            Create::LikeSource => match source.map(fstat).transpose().map_err(sys("stat", dest))? {
                Some(st)
                    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFDIR =>
                {
                    Kind::File
                }
                _ => Kind::Dir,
            },
        };
        Ok(self.root.open_or_create(dest, kind)?)
    }

    fn mount(
        &self,
        source: &Source,
        dest: &Path,
        create: Create,
        fstype: Option<&str>,
        flags: MsFlags,
        data: &str,
    ) -> Result<(), RootfsError> {
        let bind = MsFlags::MS_BIND | (flags & MsFlags::MS_REC);
        let from = match source {
            Source::Named(name) => {
                let to = self.target(dest, create, None)?;
                if fstype != Some("proc") || self.proc_stays_proc {
                    self.guard(dest, &to, None)?;
                }
                // runc 1.1.5 (CVE-2023-28642): procfs and sysfs go on a real
                // directory, never through a symlink of the image.
                if matches!(fstype, Some("proc" | "sysfs")) && !self.root.is_symlink_free(dest)? {
                    return Err(RootfsError::SymlinkedDest(dest.to_owned()));
                }
                let data = (!data.is_empty()).then_some(data);
                return at_fds(|| mount(Some(name.as_str()), &fd_name(&to), fstype, flags, data))?
                    .map_err(sys("mount", dest));
            }
            Source::Host(path) => open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(sys("mount bind", path))?,
            Source::Itself => self.root.lookup(dest)?,
            Source::DevNull => {
                let fd = self.root.lookup(Path::new("/dev/null"))?;
                let st = fstat(&fd).map_err(sys("stat", "/dev/null"))?;
                let is_char =
                    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
                if !is_char || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3 {
                    return Err(RootfsError::NotDevNull);
                }
                fd
            }
        };
        let to = self.target(dest, create, Some(&from))?;
        self.guard(dest, &to, Some(&from))?;
        let what = if let Source::Host(_) = source {
            "mount bind"
        } else {
            "bind"
        };
        let name = if let Source::Host(p) = source {
            p.as_path()
        } else {
            dest
        };
        at_fds(|| {
            mount(
                Some(&fd_name(&from)),
                &fd_name(&to),
                None::<&str>,
                bind,
                None::<&str>,
            )
        })?
        .map_err(sys(what, name))
    }

    /// While the spec's `mounts` are made: refuse to cover a file of a
    /// procfs with anything but another procfs (CVE-2019-16884,
    /// CVE-2019-19921, CVE-2023-27561): whatever resolves to procfs at the
    /// moment of the mount, by a symlink or an earlier mount, is checked on
    /// the very fd mounted onto. The files runc allows (lxcfs) pass.
    fn guard(&self, dest: &Path, to: &OwnedFd, from: Option<&OwnedFd>) -> Result<(), RootfsError> {
        self.stays_proc(dest, to)?;
        if !self.guard_proc || !crate::procfs::is_procfs(to.as_fd()) {
            return Ok(());
        }
        let clean = super::resolve::clean(dest);
        // A bind of a whole procfs (its root, inode 1) onto /proc is a proc mount.
        let whole_proc = clean == Path::new("proc")
            && from.is_some_and(|f| {
                crate::procfs::is_procfs(f.as_fd()) && fstat(f).is_ok_and(|st| st.st_ino == 1)
            });
        if whole_proc || PROC_BINDABLE.iter().any(|p| clean == Path::new(p)) {
            return Ok(());
        }
        Err(RootfsError::OverProc(dest.to_owned()))
    }

    /// For masked and readonly paths: a path under /proc must still be on
    /// procfs when it is mounted over or remounted (each op resolves anew).
    fn stays_proc(&self, dest: &Path, fd: &OwnedFd) -> Result<(), RootfsError> {
        if self.proc_stays_proc
            && super::resolve::clean(dest).starts_with("proc")
            && !crate::procfs::is_procfs(fd.as_fd())
        {
            return Err(RootfsError::NotOnProc(dest.to_owned()));
        }
        Ok(())
    }

    fn at_parent(&self, path: &Path) -> Result<(OwnedFd, CString), RootfsError> {
        let (dir, name) = self.root.open_parent(path)?;
        let name = CString::new(name.as_encoded_bytes())
            .map_err(|_| sys("create", path)(nix::Error::EINVAL))?;
        Ok((dir, name))
    }
}

impl Kernel for Live {
    fn apply(&mut self, op: &Op) -> Result<(), RootfsError> {
        match op {
            Op::Mount {
                source,
                dest,
                create,
                fstype,
                flags,
                data,
            } => self.mount(source, dest, *create, fstype.as_deref(), *flags, data),
            Op::Remount { dest, flags } => {
                let fd = self.root.lookup(dest)?;
                self.stays_proc(dest, &fd)?;
                let flags = *flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
                at_fds(|| {
                    mount(
                        None::<&str>,
                        &fd_name(&fd),
                        None::<&str>,
                        flags,
                        None::<&str>,
                    )
                })?
                .map_err(sys("remount", dest))
            }
            Op::Propagate { dest, flags } => {
                let fd = self.root.lookup(dest)?;
                at_fds(|| {
                    mount(
                        None::<&str>,
                        &fd_name(&fd),
                        None::<&str>,
                        *flags,
                        None::<&str>,
                    )
                })?
                .map_err(sys("set propagation of", dest))
            }
            Op::SetAttr { dest, attr } => {
                let fd = self.root.lookup(dest)?;
                mount_setattr(&fd, *attr).map_err(sys("mount_setattr", dest))
            }
            Op::Mknod {
                dest,
                kind,
                perm,
                dev,
                uid,
                gid,
            } => {
                let (dir, name) = self.at_parent(dest)?;
                // Exactly `perm`: C is single-threaded, so the umask is ours to swap.
                let old = umask(Mode::empty());
                let made = mknodat(
                    dir.as_fd(),
                    name.as_c_str(),
                    *kind,
                    Mode::from_bits_truncate(*perm),
                    *dev,
                );
                umask(old);
                match made {
                    Err(nix::Error::EEXIST) => return Ok(()),
                    other => other.map_err(sys("mknod", dest))?,
                }
                if (*uid, *gid) == (0, 0) {
                    return Ok(());
                }
                let ids = (Some(Uid::from_raw(*uid)), Some(Gid::from_raw(*gid)));
                fchownat(
                    dir.as_fd(),
                    name.as_c_str(),
                    ids.0,
                    ids.1,
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(sys("chown", dest))
            }
            Op::Symlink {
                target,
                link,
                replace,
            } => {
                let (dir, name) = self.at_parent(link)?;
                if *replace {
                    match unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir) {
                        Ok(()) | Err(nix::Error::ENOENT) => {}
                        Err(e) => return Err(sys("remove", link)(e)),
                    }
                }
                match symlinkat(target.as_path(), dir.as_fd(), name.as_c_str()) {
                    Ok(()) | Err(nix::Error::EEXIST) => Ok(()),
                    Err(e) => Err(sys("symlink", link)(e)),
                }
            }
        }
    }

    fn kind(&mut self, path: &Path) -> Result<Option<FileKind>, RootfsError> {
        let fd = match self.root.lookup(path) {
            Ok(fd) => fd,
            Err(ResolveError::Resolve {
                source: nix::Error::ENOENT,
                ..
            }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let st = fstat(&fd).map_err(sys("stat", path))?;
        let dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
        Ok(Some(if dir { FileKind::Dir } else { FileKind::Other }))
    }

    fn mount_flags(&mut self, path: &Path) -> Result<MsFlags, RootfsError> {
        let fd = self.root.lookup(path)?;
        let st = nix::sys::statvfs::fstatvfs(&fd).map_err(sys("statvfs", path))?;
        Ok(flags_from_statvfs(st.flags().bits() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statvfs_flags_kept() {
        let ro_nosuid = libc::ST_RDONLY | libc::ST_NOSUID | libc::ST_RELATIME;
        assert_eq!(
            flags_from_statvfs(ro_nosuid),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_RELATIME
        );
        assert_eq!(
            flags_from_statvfs(libc::ST_NODEV),
            MsFlags::MS_NODEV | MsFlags::MS_STRICTATIME
        );
        assert_eq!(
            flags_from_statvfs(libc::ST_NOATIME | libc::ST_NOEXEC),
            MsFlags::MS_NOATIME | MsFlags::MS_NOEXEC
        );
    }

    #[test]
    fn mknod_and_links_inside_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut k = Live::new(Root::open(dir.path()).expect("root"));
        let fifo = Op::Mknod {
            dest: "/dev/sub/p".into(),
            kind: SFlag::S_IFIFO,
            perm: 0o640,
            dev: 0,
            uid: 7,
            gid: 8,
        };
        k.apply(&fifo).expect("mknod");
        let st = std::fs::symlink_metadata(dir.path().join("dev/sub/p")).expect("stat");
        use std::os::unix::fs::MetadataExt;
        assert_eq!((st.mode() & 0o7777, st.uid(), st.gid()), (0o640, 7, 8));
        k.apply(&fifo).expect("existing node is fine");
        k.apply(&Op::Symlink {
            target: "pts/ptmx".into(),
            link: "/dev/sub/p".into(),
            replace: true,
        })
        .expect("ln");
        assert_eq!(
            std::fs::read_link(dir.path().join("dev/sub/p")).expect("readlink"),
            Path::new("pts/ptmx")
        );
        assert_eq!(
            k.kind(Path::new("/dev/sub")).expect("kind"),
            Some(FileKind::Dir)
        );
        assert_eq!(k.kind(Path::new("/nope")).expect("kind"), None);
    }
}
