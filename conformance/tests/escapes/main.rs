//! Known runc container escapes, one test each, set up from the public advisories: the
//! runtime must refuse the configuration or be unaffected. Every test says what it would
//! see on a vulnerable runtime.
//!
//! None of them harms the host when the runtime IS vulnerable: the binary attacked in
//! CVE-2019-5736 is a private copy, redirected writes land in files of the bundle, and
//! the procfs files named as symlink targets are only looked at, never written.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_conformance::{
    probe_fds, runtime_binary, unique_id, ConsoleSocket, Fixture, Runtime, MASKED_PATHS,
};

const WAIT: Duration = Duration::from_secs(10);

fn push_mount(f: &mut Fixture, mount: Value) -> usize {
    let mounts = f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts array");
    mounts.push(mount);
    mounts.len() - 1
}

/// Drop the spec's mounts at these destinations (so that the image's own dirs show).
fn drop_mounts(f: &mut Fixture, dests: &[&str]) {
    f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts array")
        .retain(|m| !dests.contains(&m["destination"].as_str().unwrap_or_default()));
}

fn wait_for_file(path: &Path) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The probe's `paths` report for one path.
fn path_entry<'a>(report: &'a Value, path: &str) -> &'a Value {
    report
        .as_array()
        .and_then(|a| a.iter().find(|e| e["path"] == path))
        .unwrap_or_else(|| panic!("{path} in {report}"))
}

fn mknod(path: &Path, kind: libc::mode_t, major: u32, minor: u32) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mknod(c.as_ptr(), kind | 0o666, libc::makedev(major, minor)) };
    assert_eq!(
        rc,
        0,
        "mknod {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

mod console;
mod exe_overwrite;
mod leaked_fds;
mod masked_paths;
mod mount_races;
mod proc_symlink_volume;
mod proc_volume;
mod procfs_writes;
