//! Semantic checks of a parsed spec, before anything is created. Every error
//! names the JSON field at fault, as `linux.namespaces[2].path`.
//!
//! The rules are runc's (libcontainer/configs/validate), plus the MUSTs of
//! config.md that runc leaves to the kernel to refuse later.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};

use super::validate_process::validate_process;
use super::SpecError;

/// Check the spec and resolve its rootfs against `bundle`; returns the
/// absolute rootfs path.
pub(crate) fn validate(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    if spec.version().trim().is_empty() {
        return Err(SpecError::invalid("ociVersion", "missing"));
    }
    if !spec.version().starts_with("1.") {
        return Err(SpecError::invalid(
            "ociVersion",
            format!("{:?}: skiff supports runtime-spec 1.x", spec.version()),
        ));
    }
    let rootfs = rootfs(spec, bundle)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("process", "missing"))?;
    validate_process(process)?;
    crate::process::lsm::check(&oci_spec::runtime::Process::default(), Some(spec))
        .map_err(|e| SpecError::invalid(e.field(), super::validate_process::lsm_message(&e)))?;
    crate::process::personality::check(spec)
        .map_err(|e| SpecError::invalid("linux.personality.flags", e.to_string()))?;
    if let Some(profile) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        crate::seccomp::compile(profile, oci_spec::runtime::Arch::ScmpArchNative)
            .map_err(|e| SpecError::invalid("linux.seccomp", e.to_string()))?;
        if let Some(flag) = crate::seccomp::unsupported_flag(profile) {
            return Err(SpecError::invalid(
                "linux.seccomp.flags",
                format!("{flag} is not supported by this kernel"),
            ));
        }
    }
    let namespaces: Vec<LinuxNamespace> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    validate_namespaces(spec, &namespaces)?;
    validate_uts(spec, &namespaces)?;
    validate_sysctl(spec, &namespaces)?;
    validate_mounts(spec)?;
    validate_hooks(spec)?;
    Ok(rootfs)
}

fn rootfs(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("root", "missing"))?;
    let rootfs = bundle.join(root.path());
    let meta = std::fs::metadata(&rootfs).map_err(|e| SpecError::Rootfs {
        path: rootfs.clone(),
        message: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(SpecError::Rootfs {
            path: rootfs,
            message: "not a directory".into(),
        });
    }
    rootfs.canonicalize().map_err(|e| SpecError::Rootfs {
        path: rootfs.clone(),
        message: e.to_string(),
    })
}

fn has(namespaces: &[LinuxNamespace], typ: LinuxNamespaceType) -> bool {
    namespaces.iter().any(|ns| ns.typ() == typ)
}

fn validate_namespaces(spec: &Spec, namespaces: &[LinuxNamespace]) -> Result<(), SpecError> {
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        let field = format!("linux.namespaces[{i}]");
        if !seen.insert(ns.typ()) {
            return Err(SpecError::invalid(
                format!("{field}.type"),
                format!("{} namespace listed twice", ns.typ()),
            ));
        }
        if let Some(path) = ns.path() {
            if let Err(e) = std::fs::metadata(path) {
                return Err(SpecError::invalid(
                    format!("{field}.path"),
                    format!("{}: {e}", path.display()),
                ));
            }
        }
    }
    if !has(namespaces, LinuxNamespaceType::Mount) {
        return Err(SpecError::invalid(
            "linux.namespaces",
            "a mount namespace is required (the rootfs is set up in it)",
        ));
    }
    if let Some(linux) = spec.linux() {
        let maps = [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ];
        let user = namespaces
            .iter()
            .enumerate()
            .find(|(_, n)| n.typ() == LinuxNamespaceType::User);
        for (field, map) in maps {
            let some = map.as_ref().is_some_and(|m| !m.is_empty());
            match user {
                None if some => {
                    return Err(SpecError::invalid(
                        field,
                        "id mappings need a user namespace",
                    ))
                }
                Some((i, ns)) if ns.path().is_some() && some => {
                    return Err(SpecError::invalid(
                        field,
                        format!(
                            "the user namespace joined at linux.namespaces[{i}].path has its own mappings"
                        ),
                    ))
                }
                Some((_, ns)) if ns.path().is_none() && !some => {
                    return Err(SpecError::invalid(
                        field,
                        "a new user namespace needs id mappings (one maps container root)",
                    ))
                }
                _ => {}
            }
            for (j, m) in map.iter().flatten().enumerate() {
                if m.size() == 0 {
                    return Err(SpecError::invalid(
                        format!("{field}[{j}].size"),
                        "must be greater than zero",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A private uts namespace: new, not joined (runc refuses a joined one too,
/// since setting the name would change another container's).
fn private_uts(namespaces: &[LinuxNamespace]) -> bool {
    namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::Uts && ns.path().is_none())
}

fn validate_uts(spec: &Spec, namespaces: &[LinuxNamespace]) -> Result<(), SpecError> {
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_ref().is_some_and(|v| !v.is_empty()) && !private_uts(namespaces) {
            return Err(SpecError::invalid(
                field,
                format!("cannot set the {field} without a private uts namespace"),
            ));
        }
    }
    Ok(())
}

/// The IPC sysctls the ipc namespace owns (besides `fs.mqueue.*`).
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Whether the network namespace at `path` is the runtime's own.
fn is_current_netns(path: &Path) -> std::io::Result<bool> {
    let theirs = std::fs::metadata(path)?;
    let ours = std::fs::metadata("/proc/self/ns/net")?;
    Ok(theirs.dev() == ours.dev() && theirs.ino() == ours.ino())
}

fn validate_sysctl(spec: &Spec, namespaces: &[LinuxNamespace]) -> Result<(), SpecError> {
    let sysctl = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().clone())
        .unwrap_or_default();
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("linux.sysctl[{key:?}]");
        let Some(name) = crate::system::sysctl_name(key) else {
            return Err(SpecError::invalid(field, "malformed key"));
        };
        let refuse = |why: &str| Err(SpecError::invalid(field.clone(), why.to_owned()));
        if IPC_SYSCTLS.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
            if !has(namespaces, LinuxNamespaceType::Ipc) {
                return refuse("not allowed in the host's ipc namespace (add an ipc namespace)");
            }
            continue;
        }
        if name.starts_with("net.") {
            let netns = namespaces
                .iter()
                .find(|ns| ns.typ() == LinuxNamespaceType::Network);
            let host = match netns.map(|ns| ns.path()) {
                None => true,
                Some(None) => false,
                Some(Some(path)) => is_current_netns(path).map_err(|e| {
                    SpecError::invalid(
                        field.clone(),
                        format!("network namespace {}: {e}", path.display()),
                    )
                })?,
            };
            if host {
                return refuse(
                    "not allowed in the host's network namespace (add a network namespace)",
                );
            }
            continue;
        }
        if has(namespaces, LinuxNamespaceType::Uts) {
            match name.as_str() {
                "kernel.domainname" => continue,
                "kernel.hostname" => {
                    return refuse("conflicts with the hostname field: set that instead")
                }
                _ => {}
            }
        }
        return refuse("not in a namespace of the container's own: it would change the host");
    }
    Ok(())
}

fn validate_mounts(spec: &Spec) -> Result<(), SpecError> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(SpecError::invalid(
                format!("mounts[{i}].destination"),
                format!("{} is not an absolute path", m.destination().display()),
            ));
        }
    }
    Ok(())
}

fn validate_hooks(spec: &Spec) -> Result<(), SpecError> {
    for (kind, hooks) in crate::hooks::all_kinds(spec) {
        for (i, hook) in hooks.iter().enumerate() {
            let field = format!("hooks.{kind}[{i}]");
            if !hook.path().is_absolute() {
                return Err(SpecError::invalid(
                    format!("{field}.path"),
                    format!("{} is not an absolute path", hook.path().display()),
                ));
            }
            for (j, kv) in hook.env().iter().flatten().enumerate() {
                if kv.split_once('=').is_none_or(|(name, _)| name.is_empty()) {
                    return Err(SpecError::invalid(
                        format!("{field}.env[{j}]"),
                        format!("{kv:?} is not NAME=value"),
                    ));
                }
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(SpecError::invalid(
                    format!("{field}.timeout"),
                    "must be greater than zero",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
