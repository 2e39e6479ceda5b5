//! The one OCI bundle every runtime runs: a static busybox rootfs and a
//! `config.json` equal to `runc spec`'s default except for `terminal: false`
//! and the process arguments.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::error::{io, BenchError, Result};

/// Directories created in the rootfs (mount points and the usual suspects).
const ROOTFS_DIRS: &[&str] = &[
    "bin", "dev", "etc", "proc", "sys", "tmp", "root", "run", "var",
];

/// Applets always linked, even if `busybox --list` cannot be run.
const REQUIRED_APPLETS: &[&str] = &["sh", "true", "sleep"];

/// Build `<dir>/rootfs` and `<dir>/config.json`; returns `dir`.
pub fn build(dir: &Path, busybox: &Path, args: &[&str]) -> Result<PathBuf> {
    if !busybox.is_file() {
        return Err(BenchError::Missing {
            name: "busybox".into(),
            path: busybox.to_path_buf(),
        });
    }
    let rootfs = dir.join("rootfs");
    for sub in ROOTFS_DIRS {
        let path = rootfs.join(sub);
        std::fs::create_dir_all(&path).map_err(io(format!("mkdir {}", path.display())))?;
    }
    let target = rootfs.join("bin/busybox");
    std::fs::copy(busybox, &target).map_err(io(format!(
        "copy {} to {}",
        busybox.display(),
        target.display()
    )))?;

    let mut applets = list_applets(busybox);
    applets.extend(REQUIRED_APPLETS.iter().map(|s| (*s).to_owned()));
    applets.sort();
    applets.dedup();
    for applet in applets
        .iter()
        .filter(|a| is_plain_name(a) && *a != "busybox")
    {
        let link = rootfs.join("bin").join(applet);
        symlink("busybox", &link).map_err(io(format!("symlink {}", link.display())))?;
    }

    let config = serde_json::to_vec_pretty(&config(args)).map_err(|source| BenchError::Json {
        what: "serialise config.json".into(),
        source,
    })?;
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config).map_err(io(format!("write {}", config_path.display())))?;
    Ok(dir.to_path_buf())
}

/// The applet names busybox reports; empty if it cannot be asked.
fn list_applets(busybox: &Path) -> Vec<String> {
    Command::new(busybox)
        .arg("--list")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A single path component, safe to join under `bin/`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// `runc spec` (runc 1.1) defaults, with `terminal: false` and `args`.
pub fn config(args: &[&str]) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "ambient": caps
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "runc",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
            },
            {
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
            },
            {
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
            },
            {
                "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"]
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"]
            },
            {
                "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
            }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" }
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_non_terminal_and_runs_args() {
        let cfg = config(&["/bin/true"]);
        assert_eq!(cfg["process"]["terminal"], json!(false));
        assert_eq!(cfg["process"]["args"], json!(["/bin/true"]));
        assert_eq!(cfg["root"]["path"], json!("rootfs"));
    }

    #[test]
    fn applet_names_are_checked() {
        assert!(is_plain_name("true"));
        assert!(!is_plain_name("../etc"));
        assert!(!is_plain_name(".."));
        assert!(!is_plain_name(""));
    }
}
