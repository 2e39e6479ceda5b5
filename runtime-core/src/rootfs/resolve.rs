//! Resolving config paths inside the rootfs, never following a symlink out
//! of it: openat2(RESOLVE_IN_ROOT) on an fd of the rootfs.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

/// Why a path could not be resolved inside the rootfs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("open rootfs {}: {}", path.display(), source.desc())]
    Root { path: PathBuf, source: nix::Error },
    #[error("resolve {} in rootfs: {}", path.display(), source.desc())]
    Resolve { path: PathBuf, source: nix::Error },
    #[error("create {} in rootfs: {}", path.display(), source.desc())]
    Create { path: PathBuf, source: nix::Error },
}

impl ResolveError {
    pub(crate) fn errno(&self) -> Option<nix::Error> {
        match self {
            Self::Root { source, .. }
            | Self::Resolve { source, .. }
            | Self::Create { source, .. } => Some(*source),
        }
    }
}

/// An open rootfs directory.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
}

/// What to create at a missing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

const RESOLVE_NO_SYMLINKS: u64 = 0x04;

fn openat2(dir: RawFd, path: &Path, flags: OFlag) -> Result<OwnedFd, nix::Error> {
    openat2_with(dir, path, flags, 0)
}

fn openat2_with(dir: RawFd, path: &Path, flags: OFlag, extra: u64) -> Result<OwnedFd, nix::Error> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| nix::Error::EINVAL)?;
    let how = OpenHow {
        flags: (flags | OFlag::O_CLOEXEC).bits() as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
    };
    // SAFETY: `c` is a NUL-terminated string and `how` a properly laid out
    // open_how that both outlive the call; the size passed is its size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

impl Root {
    pub(crate) fn open(path: &Path) -> Result<Self, ResolveError> {
        let fd = open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| ResolveError::Root {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self { fd })
    }

    /// Open `path` (absolute in the container) as an O_PATH fd, resolved with
    /// the rootfs as `/`; it must exist.
    pub(crate) fn lookup(&self, path: &Path) -> Result<OwnedFd, ResolveError> {
        openat2(self.fd.as_raw_fd(), &relative(path), OFlag::O_PATH).map_err(|source| {
            ResolveError::Resolve {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Open the directory `path` (absolute in the container) with O_PATH;
    /// it must exist and be a directory.
    pub(crate) fn lookup_dir(&self, path: &Path) -> Result<OwnedFd, ResolveError> {
        openat2(
            self.fd.as_raw_fd(),
            &relative(path),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )
        .map_err(|source| ResolveError::Resolve {
            path: path.to_owned(),
            source,
        })
    }

    /// Whether `path` (which exists) is reached without following any
    /// symlink.
    pub(crate) fn is_symlink_free(&self, path: &Path) -> Result<bool, ResolveError> {
        match openat2_with(
            self.fd.as_raw_fd(),
            &relative(path),
            OFlag::O_PATH,
            RESOLVE_NO_SYMLINKS,
        ) {
            Ok(_) => Ok(true),
            Err(nix::Error::ELOOP) => Ok(false),
            Err(source) => Err(ResolveError::Resolve {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The parent directory of `path` (created if missing) and its last
    /// component, for the `*at` calls that make a new name.
    pub(crate) fn open_parent<'p>(
        &self,
        path: &'p Path,
    ) -> Result<(OwnedFd, &'p OsStr), ResolveError> {
        let name = path.file_name().ok_or(ResolveError::Resolve {
            path: path.to_owned(),
            source: nix::Error::EINVAL,
        })?;
        let parent = path.parent().unwrap_or(Path::new("/"));
        Ok((self.open_or_create(parent, Kind::Dir)?, name))
    }

    /// Open `path` (absolute in the container) as an O_PATH fd, resolved with
    /// the rootfs as `/`; create it (and missing parents) as `kind` when absent.
    pub(crate) fn open_or_create(&self, path: &Path, kind: Kind) -> Result<OwnedFd, ResolveError> {
        let rel = relative(path);
        match openat2(self.fd.as_raw_fd(), &rel, OFlag::O_PATH) {
            Ok(fd) => return Ok(fd),
            Err(nix::Error::ENOENT) => {}
            Err(source) => {
                return Err(ResolveError::Resolve {
                    path: path.to_owned(),
                    source,
                })
            }
        }
        // Walk down, creating each missing component inside the rootfs.
        let mut dir =
            openat2(self.fd.as_raw_fd(), Path::new("."), OFlag::O_PATH).map_err(|source| {
                ResolveError::Resolve {
                    path: path.to_owned(),
                    source,
                }
            })?;
        let parts: Vec<_> = rel.components().collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let name = Path::new(part.as_os_str());
            let next = openat2(dir.as_raw_fd(), name, OFlag::O_PATH);
            let fd = match next {
                Ok(fd) => fd,
                Err(nix::Error::ENOENT) => {
                    let create = |source| ResolveError::Create {
                        path: path.to_owned(),
                        source,
                    };
                    if last && kind == Kind::File {
                        let f = nix::fcntl::openat(
                            &dir,
                            name,
                            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                            Mode::from_bits_truncate(0o644),
                        );
                        match f {
                            Ok(_) | Err(nix::Error::EEXIST) => {}
                            Err(e) => return Err(create(e)),
                        }
                    } else {
                        match nix::sys::stat::mkdirat(&dir, name, Mode::from_bits_truncate(0o755)) {
                            Ok(()) | Err(nix::Error::EEXIST) => {}
                            Err(e) => return Err(create(e)),
                        }
                    }
                    // Re-resolve from the rootfs so that a symlink raced into
                    // place still cannot lead out of it.
                    let so_far: PathBuf = parts[..=i].iter().collect();
                    openat2(self.fd.as_raw_fd(), &so_far, OFlag::O_PATH).map_err(|source| {
                        ResolveError::Resolve {
                            path: path.to_owned(),
                            source,
                        }
                    })?
                }
                Err(source) => {
                    return Err(ResolveError::Resolve {
                        path: path.to_owned(),
                        source,
                    })
                }
            };
            dir = fd;
        }
        Ok(dir)
    }
}

/// `path` cleaned lexically and relative to the root (`/proc/./sys` is
/// `proc/sys`), for comparing destinations.
pub(crate) fn clean(path: &Path) -> PathBuf {
    relative(path)
}

/// `path` relative to the root, cleaned lexically as runc does (`/a/../b`
/// is `b`; a `..` above the root stays at the root).
fn relative(path: &Path) -> PathBuf {
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::ParentDir => {
                rel.pop();
            }
            _ => {}
        }
    }
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// The magic-link path through which a mount lands exactly on `fd`.
#[cfg(test)]
pub(crate) fn proc_fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("rootfs");
        std::fs::create_dir_all(root.join("real")).expect("mkdir");
        std::os::unix::fs::symlink("/", root.join("evil")).expect("symlink");
        std::os::unix::fs::symlink("../../../..", root.join("up")).expect("symlink");
        let r = Root::open(&root).expect("open root");
        let fd = r
            .open_or_create(Path::new("/evil/etc/skiff-test"), Kind::Dir)
            .expect("resolve");
        let target = std::fs::read_link(proc_fd_path(&fd)).expect("readlink");
        assert_eq!(target, root.join("etc/skiff-test"));
        assert!(!Path::new("/etc/skiff-test").exists());
        let fd = r
            .open_or_create(Path::new("/up/f"), Kind::File)
            .expect("resolve file");
        assert_eq!(
            std::fs::read_link(proc_fd_path(&fd)).expect("readlink"),
            root.join("f")
        );
        assert_eq!(relative(Path::new("/a/../../b/./c")), Path::new("b/c"));
        assert_eq!(relative(Path::new("/")), Path::new("."));
        let fd = r.lookup(Path::new("/real/../evil")).expect("lookup");
        assert_eq!(
            std::fs::read_link(proc_fd_path(&fd)).expect("readlink"),
            root
        );
    }
}
