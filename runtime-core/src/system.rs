//! The container's system identity: hostname, domainname and sysctls.

use std::path::PathBuf;

use oci_spec::runtime::Spec;

/// Why the system identity could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SystemError {
    #[error("hostname {name:?}: {source}")]
    Hostname { name: String, source: nix::Error },
    #[error("domainname {name:?}: {source}")]
    Domainname {
        name: String,
        source: std::io::Error,
    },
    #[error("linux.sysctl: {key}: invalid key")]
    SysctlKey { key: String },
    #[error("linux.sysctl: {key}: {source}")]
    Sysctl {
        key: String,
        source: crate::procfs::ProcfsError,
    },
}

/// The components of a sysctl key, as sysctl(8) reads it: a key whose first
/// separator is `/` is a path under /proc/sys (`net/ipv4/conf/eth0.1/rp_filter`);
/// otherwise `.` separates and `/` stands for a literal dot
/// (`net.ipv4.conf.eth0/1.rp_filter`). None for a key that is empty, has an
/// empty component, or would leave /proc/sys.
fn sysctl_components(key: &str) -> Option<Vec<String>> {
    let path_form = key
        .find(['.', '/'])
        .is_none_or(|i| key.as_bytes()[i] == b'/');
    let parts: Vec<String> = if path_form {
        key.split('/').map(str::to_owned).collect()
    } else {
        key.split('.').map(|p| p.replace('/', ".")).collect()
    };
    let ok = parts
        .iter()
        .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'));
    ok.then_some(parts)
}

/// The dotted name of a sysctl key (`kernel/msgmax` → `kernel.msgmax`), for
/// matching it against the namespaces that own it.
pub(crate) fn sysctl_name(key: &str) -> Option<String> {
    sysctl_components(key).map(|parts| parts.join("."))
}

/// The /proc/sys file of a sysctl key (`net.ipv4.ip_forward` →
/// `/proc/sys/net/ipv4/ip_forward`), refusing keys that would leave /proc/sys.
pub(crate) fn sysctl_path(key: &str) -> Option<PathBuf> {
    sysctl_components(key).map(|parts| {
        parts
            .iter()
            .fold(PathBuf::from("/proc/sys"), |p, c| p.join(c))
    })
}

/// In C, after pivot_root: set hostname, domainname and sysctls (the spec
/// was validated: each is in a namespace of the container's own).
pub(crate) fn apply(spec: &Spec) -> Result<(), SystemError> {
    if let Some(name) = spec.hostname() {
        nix::unistd::sethostname(name).map_err(|source| SystemError::Hostname {
            name: name.clone(),
            source,
        })?;
    }
    if let Some(name) = spec.domainname() {
        // SAFETY: the pointer and length describe `name`'s bytes, which live
        // across the call; setdomainname copies them.
        let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
        if rc != 0 {
            let source = std::io::Error::last_os_error();
            return Err(SystemError::Domainname {
                name: name.clone(),
                source,
            });
        }
    }
    let sysctls = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().clone())
        .unwrap_or_default();
    let mut keys: Vec<&String> = sysctls.keys().collect();
    keys.sort();
    for key in keys {
        let path = sysctl_path(key).ok_or_else(|| SystemError::SysctlKey { key: key.clone() })?;
        // Through the runtime's own /proc: a mount the spec or the image
        // put over the container's /proc/sys cannot redirect the write
        // (CVE-2025-52881).
        let rel = path.strip_prefix("/proc").unwrap_or(&path);
        crate::procfs::write(rel, sysctls[key].as_bytes()).map_err(|source| {
            SystemError::Sysctl {
                key: key.clone(),
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sched::{unshare, CloneFlags};

    #[test]
    fn sysctl_keys() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward"),
            Some("/proc/sys/net/ipv4/ip_forward".into())
        );
        assert_eq!(
            sysctl_path("kernel/msgmax"),
            Some("/proc/sys/kernel/msgmax".into())
        );
        assert_eq!(sysctl_path("kernel"), Some("/proc/sys/kernel".into()));
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/1.rp_filter"),
            Some("/proc/sys/net/ipv4/conf/eth0.1/rp_filter".into())
        );
        assert_eq!(
            sysctl_path("net/ipv4/conf/eth0.1/rp_filter"),
            Some("/proc/sys/net/ipv4/conf/eth0.1/rp_filter".into())
        );
        assert_eq!(
            sysctl_name("kernel/shm_rmid_forced").as_deref(),
            Some("kernel.shm_rmid_forced")
        );
        for bad in [
            "",
            "..",
            "net..x",
            "a/../../etc",
            ".x",
            "x.",
            "x./",
            "a/./b",
            "a\0b",
        ] {
            assert_eq!(sysctl_path(bad), None, "{bad:?}");
        }
    }

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).expect("spec")
    }

    /// Run `f` on a thread of its own in new uts and ipc namespaces (they
    /// are per thread), or skip when this process may not make them.
    fn in_new_namespaces(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(move || {
            match unshare(CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC) {
                Ok(()) => f(),
                Err(e) => eprintln!("skipped: unshare: {e}"),
            }
        })
        .join()
        .expect("test thread");
    }

    #[test]
    fn sets_hostname_domainname_and_sysctls() {
        let host_before = nix::unistd::gethostname().expect("hostname");
        in_new_namespaces(|| {
            let s = spec(
                r#"{"hostname":"skiff-test","domainname":"example.test",
                    "linux":{"sysctl":{"kernel.shmmni":"1234","kernel/msgmax":"4321"}}}"#,
            );
            apply(&s).expect("apply");
            assert_eq!(nix::unistd::gethostname().expect("hostname"), "skiff-test");
            let read = |p: &str| std::fs::read_to_string(p).expect("read").trim().to_owned();
            assert_eq!(read("/proc/sys/kernel/domainname"), "example.test");
            assert_eq!(read("/proc/sys/kernel/shmmni"), "1234");
            assert_eq!(read("/proc/sys/kernel/msgmax"), "4321");
        });
        assert_eq!(nix::unistd::gethostname().expect("hostname"), host_before);
    }

    #[test]
    fn errors_name_the_key() {
        in_new_namespaces(|| {
            let e = apply(&spec(
                r#"{"linux":{"sysctl":{"kernel.no_such_sysctl_x":"1"}}}"#,
            ))
            .expect_err("bogus");
            assert!(
                e.to_string().starts_with(
                    "linux.sysctl: kernel.no_such_sysctl_x: open /proc/sys/kernel/no_such_sysctl_x"
                ),
                "{e}"
            );
            let e = apply(&spec(r#"{"linux":{"sysctl":{"a/../b":"1"}}}"#)).expect_err("escape");
            assert!(matches!(e, SystemError::SysctlKey { .. }), "{e}");
        });
    }
}
