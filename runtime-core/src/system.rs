//! The container's system identity: hostname, domainname and sysctls.

use std::path::PathBuf;

use oci_spec::runtime::Spec;

/// Why the system identity could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SystemError {
    #[error("hostname {name:?}: {source}")]
    Hostname { name: String, source: nix::Error },
    #[error("domainname {name:?}: {source}")]
    Domainname { name: String, source: std::io::Error },
    #[error("linux.sysctl: {key}: invalid key")]
    SysctlKey { key: String },
    #[error("linux.sysctl: {key}: write {path}: {source}")]
    Sysctl { key: String, path: PathBuf, source: std::io::Error },
}

/// The /proc/sys file of a sysctl key (`net.ipv4.ip_forward` →
/// `/proc/sys/net/ipv4/ip_forward`), refusing keys that would leave /proc/sys.
pub(crate) fn sysctl_path(key: &str) -> Option<PathBuf> {
    let ok = !key.is_empty()
        && key.split(['.', '/']).all(|part| !part.is_empty() && part != ".." && part != ".");
    ok.then(|| PathBuf::from("/proc/sys").join(key.replace('.', "/")))
}

/// In C, after pivot_root: set hostname, domainname and sysctls.
pub(crate) fn apply(spec: &Spec) -> Result<(), SystemError> {
    if let Some(name) = spec.hostname() {
        nix::unistd::sethostname(name)
            .map_err(|source| SystemError::Hostname { name: name.clone(), source })?;
    }
    if let Some(name) = spec.domainname() {
        // SAFETY: the pointer and length describe `name`'s bytes, which live
        // across the call; setdomainname copies them.
        let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
        if rc != 0 {
            let source = std::io::Error::last_os_error();
            return Err(SystemError::Domainname { name: name.clone(), source });
        }
    }
    let sysctls = spec.linux().as_ref().and_then(|l| l.sysctl().clone()).unwrap_or_default();
    for (key, value) in &sysctls {
        let path = sysctl_path(key).ok_or_else(|| SystemError::SysctlKey { key: key.clone() })?;
        std::fs::write(&path, value.as_bytes())
            .map_err(|source| SystemError::Sysctl { key: key.clone(), path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys() {
        assert_eq!(sysctl_path("net.ipv4.ip_forward"), Some("/proc/sys/net/ipv4/ip_forward".into()));
        assert_eq!(sysctl_path("kernel/msgmax"), Some("/proc/sys/kernel/msgmax".into()));
        for bad in ["", "..", "net..x", "a/../../etc", ".x"] {
            assert_eq!(sysctl_path(bad), None, "{bad}");
        }
    }
}
