//! Rootless mode: what runc's `--rootless auto` decides, the state root of
//! an unprivileged caller, and what a spec must have to run without root.

use std::path::PathBuf;

use oci_spec::runtime::Spec;

/// Why an unprivileged caller cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    /// No `--root` and no `$XDG_RUNTIME_DIR` to put the state under.
    #[error(
        "--root: running as uid {uid} (not root), the default state root is \
         $XDG_RUNTIME_DIR/skiff, and XDG_RUNTIME_DIR is not set: set it or pass --root DIR"
    )]
    NoRuntimeDir {
        /// The caller's effective uid.
        uid: u32,
    },
    /// The spec cannot run without root.
    #[error("{field}: {why} (running as uid {uid}, not root; `skiff spec --rootless` writes a config that can)")]
    NeedsRoot {
        /// The spec field.
        field: &'static str,
        /// What is missing.
        why: &'static str,
        /// The caller's effective uid.
        uid: u32,
    },
}

/// Whether this process runs in a user namespace other than the initial
/// one (its uid map is not the identity map of every id).
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|text| !is_full_map(&text))
}

/// Whether a uid_map text is the initial namespace's `0 0 4294967295`.
fn is_full_map(text: &str) -> bool {
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// runc's `--rootless auto`: rootless when the effective uid is not 0, or
/// when it is 0 in a user namespace that maps only part of the ids (where
/// the caller cannot be sure to own the cgroups).
pub fn rootless_default() -> bool {
    !nix::unistd::geteuid().is_root() || in_user_namespace()
}

/// The default state root: [`crate::DEFAULT_ROOT`] for root, else
/// `$XDG_RUNTIME_DIR/skiff` (runc's `$XDG_RUNTIME_DIR/runc`), an error when
/// that is unset or empty.
pub fn default_state_root() -> Result<PathBuf, RootlessError> {
    let euid = nix::unistd::geteuid();
    if euid.is_root() {
        return Ok(PathBuf::from(crate::DEFAULT_ROOT));
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("skiff")),
        None => Err(RootlessError::NoRuntimeDir { uid: euid.as_raw() }),
    }
}

/// For an unprivileged caller (runc's rootless-euid checks): the container
/// needs a user namespace, new ones with both id maps; a privileged caller
/// passes.
pub(crate) fn check_spec(spec: &Spec) -> Result<(), RootlessError> {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return Ok(());
    }
    let uid = uid.as_raw();
    let need = |field, why| Err(RootlessError::NeedsRoot { field, why, uid });
    let Some(userns) = crate::namespaces::user_namespace(spec) else {
        return need(
            "linux.namespaces",
            "a container without a user namespace needs root",
        );
    };
    if userns.path().is_some() {
        return Ok(());
    }
    let linux = spec.linux().as_ref();
    let empty = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| m.is_none_or(Vec::is_empty);
    if empty(linux.and_then(|l| l.uid_mappings().as_ref())) {
        return need(
            "linux.uidMappings",
            "a new user namespace needs at least one uid mapping",
        );
    }
    if empty(linux.and_then(|l| l.gid_mappings().as_ref())) {
        return need(
            "linux.gidMappings",
            "a new user namespace needs at least one gid mapping",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_map_is_the_initial_namespace() {
        assert!(is_full_map("         0          0 4294967295\n"));
        assert!(!is_full_map("         0       1000          1\n"));
        assert!(!is_full_map("0 0 4294967295\n1 1 1\n"));
        assert!(!is_full_map(""));
    }

    #[test]
    fn root_passes_and_the_rootless_spec_passes() {
        // The tests run as root: any spec passes; the rootless spec passes
        // the unprivileged checks too (they are the same code for any uid).
        assert!(check_spec(&crate::default_spec()).is_ok());
        assert!(check_spec(&crate::default_spec_rootless(1000, 1000)).is_ok());
    }
}
