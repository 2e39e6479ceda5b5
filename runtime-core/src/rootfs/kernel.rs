//! The syscall seam: every change to the mount tree is an [`Op`] on a path of
//! the container, handed to a [`Kernel`]. The planning code above it (which
//! mounts, in which order, with which flags, what to fall back to) is plain
//! Rust, tested with a recording double; [`super::live::Live`] is the kernel.

use std::path::PathBuf;

use nix::mount::MsFlags;
use nix::sys::stat::SFlag;

use super::options::RecursiveAttr;
use super::RootfsError;

/// Where a mount comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A new filesystem; the string is mount(2)'s `source` ("tmpfs", "proc").
    Named(String),
    /// A bind of a path of the caller's view (the host before pivot_root),
    /// following symlinks as runc does.
    Host(PathBuf),
    /// A bind of the destination onto itself.
    Itself,
    /// A bind of the container's `/dev/null`, checked to be the char device 1:3.
    DevNull,
}

/// What to make at a missing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// Nothing: the destination must exist.
    Never,
    Dir,
    File,
    /// A directory if the bind source is one, else a file.
    LikeSource,
}

/// One change, on paths absolute inside the container's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// mount(2) at `dest`. For a bind (`Host`, `Itself`, `DevNull`) only
    /// MS_BIND and MS_REC of `flags` count; the rest take a [`Op::Remount`].
    Mount {
        source: Source,
        dest: PathBuf,
        create: Create,
        fstype: Option<String>,
        flags: MsFlags,
        data: String,
    },
    /// MS_REMOUNT|MS_BIND with exactly `flags`: per-mount flags not named are cleared.
    Remount { dest: PathBuf, flags: MsFlags },
    /// A propagation change of the mount at `dest`.
    Propagate { dest: PathBuf, flags: MsFlags },
    /// mount_setattr(AT_RECURSIVE) on the mount at `dest`.
    SetAttr { dest: PathBuf, attr: RecursiveAttr },
    /// mknod with `perm` exactly (no umask), then chown if not 0:0.
    Mknod {
        dest: PathBuf,
        kind: SFlag,
        perm: u32,
        dev: u64,
        uid: u32,
        gid: u32,
    },
    /// symlink(2); `replace` removes what is at `link` first, else an
    /// existing `link` is left alone.
    Symlink {
        target: PathBuf,
        link: PathBuf,
        replace: bool,
    },
}

/// What kind of file a path of the container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Dir,
    Other,
}

/// The kernel, as the rootfs code needs it.
pub(crate) trait Kernel {
    /// Carry out `op`; the error names the step and the path.
    fn apply(&mut self, op: &Op) -> Result<(), RootfsError>;
    /// What `path` is, `None` if it does not exist.
    fn kind(&mut self, path: &std::path::Path) -> Result<Option<FileKind>, RootfsError>;
    /// The per-mount flags (statvfs) of the mount `path` is on: MS_RDONLY,
    /// MS_NOSUID, MS_NODEV, MS_NOEXEC and the atime ones.
    fn mount_flags(&mut self, path: &std::path::Path) -> Result<MsFlags, RootfsError>;
}

#[cfg(test)]
pub(crate) mod fake {
    //! A kernel that records ops, for planning tests.

    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;

    /// Which ops fail, and with what errno.
    pub(crate) type Failure = (fn(&Op) -> bool, nix::Error);

    #[derive(Default)]
    pub(crate) struct Recorder {
        pub(crate) ops: Vec<Op>,
        /// Ops that fail, with the errno they fail with.
        pub(crate) fail: Vec<Failure>,
        pub(crate) kinds: HashMap<PathBuf, FileKind>,
        pub(crate) flags: HashMap<PathBuf, MsFlags>,
    }

    impl Kernel for Recorder {
        fn apply(&mut self, op: &Op) -> Result<(), RootfsError> {
            if let Some((_, e)) = self.fail.iter().find(|(f, _)| f(op)) {
                return Err(RootfsError::Sys {
                    what: "fake",
                    path: PathBuf::from("/"),
                    source: *e,
                });
            }
            self.ops.push(op.clone());
            Ok(())
        }
        fn kind(&mut self, path: &Path) -> Result<Option<FileKind>, RootfsError> {
            Ok(self.kinds.get(path).copied())
        }
        fn mount_flags(&mut self, path: &Path) -> Result<MsFlags, RootfsError> {
            Ok(self.flags.get(path).copied().unwrap_or(MsFlags::empty()))
        }
    }
}
