//! The session keyring: as runc, each container gets a session keyring of
//! its own, `_ses.<id>`, so that its processes do not share the caller's
//! keys. Joining a keyring of that name that already exists (`exec` into the
//! container) gives the container's processes the same one.

use std::ffi::CString;

/// keyctl(2) operations (linux/keyctl.h).
const KEYCTL_DESCRIBE: libc::c_long = 6;
const KEYCTL_SETPERM: libc::c_long = 5;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// The "possessor/user may search" bit for a keyring without a user
/// namespace (`KEY_USR_SEARCH`), as runc adds it.
const KEY_USR_SEARCH: u32 = 0x0008_0000;

/// Why the session keyring could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyringError {
    #[error("join session keyring {name}: {source}")]
    Join {
        name: String,
        source: std::io::Error,
    },
    #[error("session keyring {name}: {op}: {source}")]
    Perm {
        name: String,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("session keyring {name}: unexpected description {description:?}")]
    Describe { name: String, description: String },
}

/// The keyring's name for container `id`.
pub(crate) fn ring_name(id: &str) -> String {
    format!("_ses.{id}")
}

/// The permission word of a KEYCTL_DESCRIBE answer,
/// `type;uid;gid;perm;description` with `perm` in hex.
pub(crate) fn parse_perm(description: &str) -> Option<u32> {
    let perm = description.split(';').nth(3)?;
    u32::from_str_radix(perm, 16).ok()
}

fn describe(serial: libc::c_long) -> std::io::Result<String> {
    let mut buf = vec![0u8; 512];
    // SAFETY: KEYCTL_DESCRIBE writes at most `buf.len()` bytes into `buf`,
    // which lives across the call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            serial,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(usize::try_from(n).unwrap_or(0).min(buf.len()));
    Ok(String::from_utf8_lossy(&buf)
        .trim_end_matches('\0')
        .to_owned())
}

/// In C, before the user's identity is set: join (or create) the session
/// keyring `_ses.<id>` and make it searchable by the container's user,
/// unless `--no-new-keyring`. A kernel without keyrings (ENOSYS) or one that
/// forbids them here (EACCES, EPERM: a seccomp filter around the runtime)
/// leaves the caller's keyring in place, as runc does.
pub(crate) fn join_session_keyring(id: &str, no_new_keyring: bool) -> Result<(), KeyringError> {
    if no_new_keyring {
        return Ok(());
    }
    let name = ring_name(id);
    let join = |source| KeyringError::Join {
        name: name.clone(),
        source,
    };
    let cname = CString::new(name.as_bytes()).map_err(|e| join(std::io::Error::other(e)))?;
    // SAFETY: the name is a NUL-terminated string alive across the call;
    // the kernel only reads it.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            cname.as_ptr(),
        )
    };
    if serial < 0 {
        let source = std::io::Error::last_os_error();
        return match source.raw_os_error() {
            Some(libc::ENOSYS | libc::EACCES | libc::EPERM) => Ok(()),
            _ => Err(join(source)),
        };
    }
    let perm = |op, source| KeyringError::Perm {
        name: name.clone(),
        op,
        source,
    };
    let description = describe(serial).map_err(|e| perm("describe", e))?;
    let current = parse_perm(&description).ok_or_else(|| KeyringError::Describe {
        name: name.clone(),
        description: description.clone(),
    })?;
    // SAFETY: KEYCTL_SETPERM takes two integers and touches no memory.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SETPERM,
            serial,
            current | KEY_USR_SEARCH,
        )
    };
    if rc < 0 {
        return Err(perm("set permissions", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_permissions() {
        assert_eq!(ring_name("abc"), "_ses.abc");
        assert_eq!(
            parse_perm("keyring;0;0;3f010000;_ses.abc"),
            Some(0x3f01_0000)
        );
        assert_eq!(parse_perm("keyring;0;0"), None);
        assert_eq!(parse_perm("keyring;0;0;zz;x"), None);
    }

    #[test]
    fn skipped_with_no_new_keyring() {
        assert!(join_session_keyring("x", true).is_ok());
    }
}
