//! The runtime's own handle on procfs: the host's `/proc`, opened by I before
//! it enters any namespace, so that nothing the container's mounts or
//! symlinks do can redirect what skiff reads or writes there
//! (CVE-2019-16884, CVE-2019-19921, CVE-2025-52881).
//!
//! Every write skiff makes to procfs after the container's mounts exist
//! (sysctls, `oom_score_adj`, the LSM exec label) goes through [`open`]:
//! openat2 beneath that handle with no mount crossing, no magic link, and a
//! check that the file opened is on procfs. The magic links the rootfs code
//! mounts through (`/proc/self/fd/N`) are resolved in that handle too, with
//! [`in_fd_dir`], and never in the container's own `/proc`.
//!
//! The per-namespace files (`/proc/sys/net`, `/proc/sys/kernel/shm*`, ...)
//! follow the namespaces of the process that opens them, not those of the
//! procfs instance, so the host's `/proc` serves the container's sysctls.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

static HOST_PROC: OnceLock<OwnedFd> = OnceLock::new();

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_BENEATH: u64 = 0x08;

/// Why a procfs file could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcfsError {
    /// The host's /proc could not be opened.
    #[error("open /proc: {}", .0.desc())]
    Open(nix::Error),
    /// What is mounted at /proc is not procfs.
    #[error("/proc is not procfs")]
    NotProc,
    /// A file under /proc could not be opened beneath it.
    #[error("open /proc/{}: {}", path.display(), source.desc())]
    Resolve { path: PathBuf, source: nix::Error },
    /// The file opened is not on procfs: something was mounted over it.
    #[error("/proc/{} is not on procfs (something is mounted over it)", .0.display())]
    Redirected(PathBuf),
    /// Writing the file failed.
    #[error("write /proc/{}: {}", path.display(), source.desc())]
    Write { path: PathBuf, source: nix::Error },
    /// Changing directory into /proc/self/fd (and back) failed.
    #[error("change directory to /proc/self/fd: {}", .0.desc())]
    Chdir(nix::Error),
}

/// Whether `fd` is on procfs.
pub(crate) fn is_procfs(fd: BorrowedFd<'_>) -> bool {
    nix::sys::statfs::fstatfs(fd)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

/// Open the host's /proc now (I, before any namespace is entered); later
/// calls keep the first handle.
pub(crate) fn init() -> Result<(), ProcfsError> {
    root().map(|_| ())
}

fn root() -> Result<BorrowedFd<'static>, ProcfsError> {
    if let Some(fd) = HOST_PROC.get() {
        return Ok(fd_ref(fd));
    }
    let fd = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(ProcfsError::Open)?;
    if !is_procfs(fd_ref(&fd)) {
        return Err(ProcfsError::NotProc);
    }
    Ok(fd_ref(HOST_PROC.get_or_init(|| fd)))
}

fn fd_ref(fd: &OwnedFd) -> BorrowedFd<'_> {
    std::os::fd::AsFd::as_fd(fd)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Open `rel` (relative to /proc, e.g. `sys/kernel/shmmni`, `self/fd`)
/// beneath the runtime's handle; the file must be on procfs.
pub(crate) fn open_beneath(rel: &Path, flags: OFlag) -> Result<OwnedFd, ProcfsError> {
    let resolve_err = |source| ProcfsError::Resolve {
        path: rel.to_owned(),
        source,
    };
    let dir = root()?;
    let c = CString::new(rel.as_os_str().as_encoded_bytes())
        .map_err(|_| resolve_err(nix::Error::EINVAL))?;
    // openat2 refuses O_PATH with any flag but a few: no O_NOCTTY there.
    let extra = if flags.contains(OFlag::O_PATH) {
        OFlag::O_CLOEXEC
    } else {
        OFlag::O_CLOEXEC | OFlag::O_NOCTTY
    };
    let how = OpenHow {
        flags: (flags | extra).bits() as u64,
        mode: 0,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `c` is NUL-terminated and `how` a properly laid out open_how;
    // both outlive the call, and the size passed is the struct's.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(resolve_err(nix::Error::last()));
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    if !is_procfs(fd_ref(&fd)) {
        return Err(ProcfsError::Redirected(rel.to_owned()));
    }
    Ok(fd)
}

/// Write `data` to the procfs file `rel` in one write(2).
pub(crate) fn write(rel: &Path, data: &[u8]) -> Result<(), ProcfsError> {
    let fd = open_beneath(rel, OFlag::O_WRONLY)?;
    nix::unistd::write(&fd, data).map_err(|source| ProcfsError::Write {
        path: rel.to_owned(),
        source,
    })?;
    Ok(())
}

/// Run `f` with the current directory set to this process's fd directory
/// of the runtime's procfs, where each fd `N` is the magic link named `N`
/// (see [`fd_name`]); the directory is restored afterwards. C is
/// single-threaded, so the working directory is its own to borrow.
pub(crate) fn in_fd_dir<R>(f: impl FnOnce() -> R) -> Result<R, ProcfsError> {
    let dir = open_beneath(Path::new("self/fd"), OFlag::O_PATH | OFlag::O_DIRECTORY)?;
    let back = open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(ProcfsError::Chdir)?;
    nix::unistd::fchdir(&dir).map_err(ProcfsError::Chdir)?;
    let r = f();
    nix::unistd::fchdir(&back).map_err(ProcfsError::Chdir)?;
    Ok(r)
}

/// The name of `fd`'s magic link inside [`in_fd_dir`].
pub(crate) fn fd_name(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(fd.as_raw_fd().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_beneath_proc_only() {
        init().expect("init");
        let fd = open_beneath(Path::new("self/status"), OFlag::O_RDONLY).expect("status");
        assert!(is_procfs(fd_ref(&fd)));
        for bad in ["../etc/passwd", "/etc/passwd", "self/root/etc/passwd"] {
            assert!(
                open_beneath(Path::new(bad), OFlag::O_RDONLY).is_err(),
                "{bad} opened"
            );
        }
    }
}
