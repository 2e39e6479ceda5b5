//! Semantic checks of a parsed spec, before anything is created.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::SpecError;

/// Check the spec and resolve its rootfs against `bundle`; returns the
/// absolute rootfs path.
pub(crate) fn validate(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec.root().as_ref().ok_or_else(|| SpecError::invalid("root", "missing"))?;
    let rootfs = bundle.join(root.path());
    let meta = std::fs::metadata(&rootfs)
        .map_err(|e| SpecError::Rootfs { path: rootfs.clone(), message: e.to_string() })?;
    if !meta.is_dir() {
        return Err(SpecError::Rootfs { path: rootfs, message: "not a directory".into() });
    }
    let rootfs = rootfs
        .canonicalize()
        .map_err(|e| SpecError::Rootfs { path: rootfs.clone(), message: e.to_string() })?;
    let process = spec.process().as_ref().ok_or_else(|| SpecError::invalid("process", "missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(SpecError::invalid("process.args", "must name the program to run"));
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::invalid("process.cwd", "must be an absolute path"));
    }
    let mut seen = HashSet::new();
    if let Some(linux) = spec.linux() {
        for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
            let field = format!("linux.namespaces[{i}]");
            if !seen.insert(ns.typ()) {
                return Err(SpecError::invalid(field, format!("{} namespace listed twice", ns.typ())));
            }
            if ns.typ() == LinuxNamespaceType::User {
                return Err(SpecError::invalid(field, "user namespaces are not supported yet"));
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(SpecError::invalid(
                format!("mounts[{i}].destination"),
                format!("{} is not an absolute path", m.destination().display()),
            ));
        }
    }
    Ok(rootfs)
}
