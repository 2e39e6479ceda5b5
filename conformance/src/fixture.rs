//! [`Fixture`] and helpers that read the probe's JSON report.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::*;

/// A runtime and a bundle. Fields drop in order: the runtime first (force-deleting its
/// containers), then the bundle (removing its directory).
#[derive(Debug)]
pub struct Fixture {
    pub rt: Runtime,
    pub bundle: Bundle,
}

impl Fixture {
    pub fn new(args: &[&str]) -> Result<Self> {
        Ok(Fixture {
            rt: Runtime::new()?,
            bundle: Bundle::new(args)?,
        })
    }

    /// Leaks of container `id` of this fixture.
    pub fn leaks(&self, id: &str) -> Vec<String> {
        self.rt.leaks(id, &self.bundle)
    }
}

/// Bit numbers of the capabilities, by name.
pub const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability mask of a list of names; unknown names are ignored.
pub fn cap_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| CAPS.iter().position(|c| c == n))
        .fold(0, |m, bit| m | (1u64 << bit))
}

/// A capability set from the probe's report (`"effective"`, ...), parsed from hex.
pub fn probe_caps(report: &Value, set: &str) -> Option<u64> {
    report["capabilities"][set]
        .as_str()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
}

/// The mount at `mount_point` in the probe's report (the last one, i.e. the visible one).
pub fn probe_mount<'a>(report: &'a Value, mount_point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"].as_str() == Some(mount_point))
}

/// The fd numbers in the probe's report.
pub fn probe_fds(report: &Value) -> Vec<u64> {
    report["fds"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["fd"].as_u64()).collect())
        .unwrap_or_default()
}

/// `readlink /proc/self/ns/<name>` of the test process (the host's namespaces).
pub fn host_ns(name: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Reads a whole file, for tests.
pub fn read_file(path: &Path) -> Result<String> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(s)
}
