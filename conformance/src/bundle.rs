//! [`Bundle`]: a temporary bundle whose rootfs has busybox and the static probe, with
//! a runc-like `config.json` the tests mutate.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::*;

/// Path of the static probe built by `build.rs`.
pub const PROBE: &str = env!("SKIFF_STATIC_PROBE");

/// The busybox copied into every rootfs.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked to busybox in `/bin` of every rootfs.
pub(crate) const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "sleep", "true", "false", "id", "hostname", "mount", "ps", "env",
    "kill", "mkdir", "touch", "readlink", "stat", "grep", "pwd", "umask", "ulimit", "test",
];

// Bundle.

pub(crate) static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A container id unique to this process and call: `skc-<tag>-<pid>-<n>`.
pub fn unique_id(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("skc-{tag}-{}-{n}", std::process::id())
}

/// A bundle in a temp dir: `config.json` plus a rootfs with busybox and the probe.
#[derive(Debug)]
pub struct Bundle {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    config: Value,
    /// When set, `config.json` was written by the test and is not regenerated.
    raw_config: bool,
    token: String,
}

/// The environment variable that marks a container's processes for the leak check.
pub const TOKEN_VAR: &str = "SKIFF_CONFORMANCE_TOKEN";

impl Bundle {
    /// A bundle whose process runs `args`.
    pub fn new(args: &[&str]) -> Result<Self> {
        init();
        let dir = tempfile::Builder::new()
            .prefix("skiff-conf-bundle-")
            .tempdir_in(temp_base())
            .map_err(|e| Error::io("creating the bundle dir", e))?;
        let path = dir.path().to_path_buf();
        let token = format!(
            "{}-{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("bundle"),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        make_rootfs(&path.join("rootfs"))?;
        let config = default_config(args, &token);
        Ok(Bundle {
            dir: Some(dir),
            path,
            config,
            raw_config: false,
            token,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rootfs(&self) -> PathBuf {
        self.path.join("rootfs")
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut Value {
        &mut self.config
    }

    /// Mutates the config with a closure; for chaining in tests.
    pub fn with(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.config);
        self
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) {
        self.config["process"]["args"] = json!(args);
    }

    /// Writes `config.json` from the current value (unless a raw config was written).
    pub fn write_config(&self) -> Result<()> {
        if self.raw_config {
            return Ok(());
        }
        let text = serde_json::to_string_pretty(&self.config).map_err(|source| Error::Json {
            what: "the bundle config".to_string(),
            text: String::new(),
            source,
        })?;
        std::fs::write(self.path.join("config.json"), text)
            .map_err(|e| Error::io("writing config.json", e))
    }

    /// Writes `config.json` verbatim; later runtime calls will not overwrite it.
    pub fn write_raw_config(&mut self, text: &str) -> Result<()> {
        self.raw_config = true;
        std::fs::write(self.path.join("config.json"), text)
            .map_err(|e| Error::io("writing config.json", e))
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if !detach_mounts_under(&self.path) {
            // Something is still mounted in the bundle: leave the directory rather than
            // risk deleting through a mount.
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!(
                    "skiff-conformance: mounts remain under {}; not removing it",
                    kept.display()
                );
            }
        }
    }
}

/// Builds a minimal rootfs: busybox with applet links, the probe, and the usual dirs.
pub(crate) fn make_rootfs(rootfs: &Path) -> Result<()> {
    let io = |what: &str| {
        let what = format!("{what} in {}", rootfs.display());
        move |e| Error::io(what, e)
    };
    for d in [
        "bin", "proc", "sys", "dev", "tmp", "etc", "root", "run", "var", "home",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).map_err(io("creating dirs"))?;
    }
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .map_err(io("chmod tmp"))?;
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).map_err(io("copying busybox"))?;
    std::fs::copy(PROBE, rootfs.join("bin/probe")).map_err(io("copying the probe"))?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
            .map_err(io("linking applets"))?;
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .map_err(io("writing /etc/passwd"))?;
    std::fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
    )
    .map_err(io("writing /etc/group"))?;
    Ok(())
}

/// The capabilities `runc spec` grants.
pub const DEFAULT_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// `maskedPaths` of `runc spec`.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// `readonlyPaths` of `runc spec`.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A config like `runc spec`'s, with `terminal: false`, a writable root (tests write in
/// it; `root.readonly` is tested on its own), no cgroup mount, and the leak-check token
/// in the environment.
pub fn default_config(args: &[&str], token: &str) -> Value {
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
                format!("{TOKEN_VAR}={token}"),
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS,
                "ambient": DEFAULT_CAPS,
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
            "noNewPrivileges": true,
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "skiff-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
        ],
        "linux": {
            "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    })
}
