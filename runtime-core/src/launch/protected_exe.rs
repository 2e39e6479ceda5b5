//! The binary I is executed from: the caller's own executable, reached only
//! through something no container process can write to, so that none can
//! overwrite the runtime binary on the host through /proc/PID/exe
//! (CVE-2019-5736). Made once per process and reused:
//!
//! - a detached, read-only bind mount of the executable (open_tree with
//!   OPEN_TREE_CLONE, then mount_setattr MOUNT_ATTR_RDONLY): attached
//!   nowhere, so nothing propagates and no mount namespace shows it, and a
//!   write through /proc/PID/exe fails with EROFS. It costs two syscalls;
//! - where the kernel or the caller's privileges refuse that (rootless,
//!   kernels before 5.12), a sealed memfd copy, which costs a copy of the
//!   whole binary (about 3 ms for 4 MiB) at every start.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

static SEALED: OnceLock<OwnedFd> = OnceLock::new();

/// Why the sealed copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// memfd_create(2) failed.
    #[error("memfd_create: {0}")]
    Create(std::io::Error),
    /// /proc/self/exe could not be read.
    #[error("copy /proc/self/exe: {0}")]
    Copy(std::io::Error),
    /// The seals could not be added.
    #[error("seal the executable copy: {0}")]
    Seal(std::io::Error),
}

fn make() -> Result<OwnedFd, SealError> {
    read_only_mount().or_else(|_| sealed_copy())
}

/// OPEN_TREE_CLONE and OPEN_TREE_CLOEXEC of open_tree(2).
const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;

/// A detached read-only bind mount of /proc/self/exe.
fn read_only_mount() -> Result<OwnedFd, nix::Error> {
    let exe = c"/proc/self/exe";
    // SAFETY: `exe` is a NUL-terminated string that outlives the call;
    // open_tree returns a new fd or -1 and touches no other memory.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            exe.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(nix::Error::last());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| nix::Error::EBADF)?;
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    crate::rootfs::make_read_only(&fd)?;
    Ok(fd)
}

/// A sealed memfd copy of /proc/self/exe.
fn sealed_copy() -> Result<OwnedFd, SealError> {
    let name = c"skiff";
    // SAFETY: `name` is a NUL-terminated string; memfd_create returns a new
    // fd or -1 and touches no other memory.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(SealError::Create(std::io::Error::last_os_error()));
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let mut copy = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut exe = File::open("/proc/self/exe").map_err(SealError::Copy)?;
    // A plain read/write copy. An in-kernel one (sendfile, splice) leaves
    // references on the memfd's pages for a while, and F_SEAL_WRITE then fails
    // with EBUSY now and then (seen: 2 in 4,000 runs). The buffer is small:
    // its pages count in the runtime's peak RSS.
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match exe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SealError::Copy(e)),
        };
        copy.write_all(&buf[..n]).map_err(SealError::Copy)?;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // F_SEAL_WRITE fails with EBUSY while the kernel still holds extra
    // references on the copy's pages (seen now and then, about 1 start in
    // 1,000, right after the copy): those go within moments, so retry.
    let mut wait = std::time::Duration::from_millis(1);
    loop {
        // SAFETY: F_ADD_SEALS takes an integer argument.
        if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } == 0 {
            return Ok(copy.into());
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EBUSY) || wait > std::time::Duration::from_millis(64) {
            return Err(SealError::Seal(err));
        }
        std::thread::sleep(wait);
        wait *= 2;
    }
}

/// The path to exec for a write-protected view of this binary (`/proc/self/fd/N`,
/// valid in a child forked from this process).
pub(crate) fn path() -> Result<String, SealError> {
    if let Some(fd) = SEALED.get() {
        return Ok(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    }
    let fd = make()?;
    // Another thread may have won the race; its copy serves as well.
    let fd = SEALED.get_or_init(|| fd);
    Ok(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file behind `fd` reads as this executable and cannot be opened
    /// for writing.
    fn assert_same_and_unwritable(fd: &OwnedFd) {
        let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let copy = std::fs::read(&p).expect("read the protected view");
        let exe = std::fs::read("/proc/self/exe").expect("read exe");
        assert!(copy == exe, "the view differs from the executable");
        let write = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|mut f| f.write_all(b"x"));
        assert!(write.is_err(), "{p} is writable");
    }

    #[test]
    fn read_only_mount_is_the_binary_and_unwritable() {
        let fd = read_only_mount().expect("open_tree + mount_setattr (root)");
        assert_same_and_unwritable(&fd);
        // ETXTBSY answers while the binary runs; once it has exited, the
        // read-only mount still refuses writes (EROFS).
        let st = nix::sys::statvfs::statvfs(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str())
            .expect("statvfs");
        assert!(
            st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY),
            "the mount is not read-only"
        );
    }

    #[test]
    fn sealed_copy_is_the_binary_and_unwritable() {
        assert_same_and_unwritable(&sealed_copy().expect("sealed copy"));
    }

    #[test]
    fn made_once() {
        let p = path().expect("protected exe");
        assert_eq!(path().expect("again"), p);
    }
}
