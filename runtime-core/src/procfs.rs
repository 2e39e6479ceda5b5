//! The runtime's own handle on procfs, so that nothing the container's
//! mounts or symlinks do can redirect what skiff reads or writes there
//! (CVE-2019-16884, CVE-2019-19921, CVE-2025-52881): a procfs instance of
//! the container's pid namespace that C makes and mounts nowhere
//! ([`use_private_instance`]), else the host's `/proc`, opened by I before
//! it enters any namespace ([`init`]).
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
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

/// The host's /proc (an O_PATH fd), or -1. Closed once a private instance
/// is in use: C must not hold a way to the host's processes.
static HOST_PROC: AtomicI32 = AtomicI32::new(-1);
/// The private procfs instance (a mount fd), or -1.
static PRIVATE_PROC: AtomicI32 = AtomicI32::new(-1);

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

/// In C, first thing: a procfs instance of C's own pid namespace, mounted
/// nowhere (fsopen + fsmount), to use in place of the host's. A process of
/// the container that can reach C's fds (/proc/1/fd/N, with
/// CAP_SYS_PTRACE) then finds only the container's processes there, never
/// the host's `/proc/<pid>/root`. Where the kernel refuses a new procfs
/// (in a user namespace whose mount namespace shows no full /proc, e.g. an
/// exec) the host's handle from [`init`] stays in use: there C's memory
/// belongs to the init user namespace, so no container process may
/// ptrace-access its fds anyway.
pub(crate) fn use_private_instance() {
    if PRIVATE_PROC.load(Ordering::SeqCst) >= 0 {
        return;
    }
    let Ok(fd) = private_instance() else {
        return;
    };
    if !is_procfs(fd_ref(&fd)) {
        return;
    }
    if PRIVATE_PROC
        .compare_exchange(-1, fd.into_raw_fd(), Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return;
    }
    let host = HOST_PROC.swap(-1, Ordering::SeqCst);
    if host >= 0 {
        // SAFETY: `host` was stored by root() as an fd this module owns;
        // the swap took it out, so nothing else will close or borrow it
        // anew (C is single-threaded and calls this before any borrow).
        drop(unsafe { OwnedFd::from_raw_fd(host) });
    }
}

fn private_instance() -> Result<OwnedFd, nix::Error> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
    const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
    const MOUNT_ATTR_NOEXEC: libc::c_uint = 0x8;
    let name = c"proc";
    // SAFETY: `name` is NUL-terminated; fsopen returns a new fd or -1.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux argument.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if rc < 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: fsmount takes the fs context fd and two flag words.
    let mnt = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        )
    };
    if mnt < 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(mnt as RawFd) })
}

fn root() -> Result<BorrowedFd<'static>, ProcfsError> {
    for slot in [&PRIVATE_PROC, &HOST_PROC] {
        let fd = slot.load(Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: a stored fd stays open until use_private_instance
            // replaces the host's handle, which C does before any use.
            return Ok(unsafe { BorrowedFd::borrow_raw(fd) });
        }
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
    let raw = fd.into_raw_fd();
    if let Err(theirs) = HOST_PROC.compare_exchange(-1, raw, Ordering::SeqCst, Ordering::SeqCst) {
        // Another thread stored one first: keep that, close ours.
        // SAFETY: `raw` came from into_raw_fd above and was never shared.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        // SAFETY: as above, a stored fd stays open.
        return Ok(unsafe { BorrowedFd::borrow_raw(theirs) });
    }
    // SAFETY: as above, a stored fd stays open.
    Ok(unsafe { BorrowedFd::borrow_raw(raw) })
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
