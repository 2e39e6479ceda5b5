//! The binary I is executed from: a sealed, read-only memfd copy of the
//! caller's own executable, so that no container process can reach (and
//! overwrite) the runtime binary on the host through /proc/PID/exe
//! (CVE-2019-5736). The copy is made once per process and reused.

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
    // SAFETY: F_ADD_SEALS takes an integer argument.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(SealError::Seal(std::io::Error::last_os_error()));
    }
    Ok(copy.into())
}

/// The path to exec for a sealed copy of this binary (`/proc/self/fd/N`,
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

    #[test]
    fn copy_is_sealed_and_equal() {
        let p = path().expect("sealed copy");
        let copy = std::fs::read(&p).expect("read copy");
        let exe = std::fs::read("/proc/self/exe").expect("read exe");
        assert!(copy == exe, "copy differs from the executable");
        assert!(std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(b"x")
            })
            .is_err());
        assert_eq!(path().expect("again"), p, "made once");
    }
}
