//! Helpers for the cgroup tests.

use std::path::Path;

use oci_spec::runtime::{LinuxResources, Spec};

pub(crate) fn res(json: &str) -> LinuxResources {
    match serde_json::from_str(json) {
        Ok(r) => r,
        Err(e) => panic!("test resources {json}: {e}"),
    }
}

pub(crate) fn spec(linux: &str) -> Spec {
    let json = format!(r#"{{"ociVersion": "1.0.2", "linux": {linux}}}"#);
    match serde_json::from_str(&json) {
        Ok(s) => s,
        Err(e) => panic!("test spec {json}: {e}"),
    }
}

/// Make `dir` with empty `files`, as the kernel would.
pub(crate) fn files(dir: &Path, files: &[&str]) {
    let _ = std::fs::create_dir_all(dir);
    for f in files {
        let _ = std::fs::write(dir.join(f), "");
    }
}

pub(crate) fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| format!("<{file}: {e}>"))
}
