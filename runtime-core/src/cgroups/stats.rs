//! A container's resource usage, read straight from its cgroup files. A
//! controller the host lacks leaves its part at zero.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::fs::{flat_keyed, parse_u64};

/// Resource usage of a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// The cgroup version the counters were read from.
    pub version: CgroupVersion,
    /// CPU time and throttling.
    pub cpu: CpuStats,
    /// Memory, swap and OOM events.
    pub memory: MemoryStats,
    /// Process count.
    pub pids: PidsStats,
    /// Block I/O per device.
    pub io: Vec<IoEntry>,
    /// Hugepage usage per page size (`2MB`, `1GB`).
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// Which cgroup hierarchy a container's [`Stats`] come from: this decides
/// their meaning where v1 and v2 differ (which `raw` memory.stat keys exist,
/// whether `events` and `per_cpu_ns` are filled) and so which of
/// containerd's metrics types carries them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// cgroup v1 controllers, also on a hybrid host (where only hugetlb
    /// may come from the unified tree).
    #[default]
    V1,
    /// The unified hierarchy alone (a pure cgroup v2 host).
    V2,
}

/// CPU time, in nanoseconds, and CFS throttling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    /// Total CPU time.
    pub usage_ns: u64,
    /// Time in user mode.
    pub user_ns: u64,
    /// Time in kernel mode.
    pub system_ns: u64,
    /// Total time per CPU (v1 only).
    pub per_cpu_ns: Vec<u64>,
    /// Enforcement periods that elapsed.
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    pub throttled_periods: u64,
    /// Time throttled.
    pub throttled_ns: u64,
}

/// Memory use in bytes (`u64::MAX` for an unlimited limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Current usage.
    pub usage: u64,
    /// Peak usage.
    pub max_usage: u64,
    /// The limit.
    pub limit: u64,
    /// Page cache (`cache` on v1, `file` on v2).
    pub cache: u64,
    /// Anonymous memory (`rss` on v1, `anon` on v2).
    pub rss: u64,
    /// Swap in use (v1: memory+swap usage minus memory usage).
    pub swap_usage: u64,
    /// The memory+swap limit, as v1's memsw (v2: memory.max +
    /// memory.swap.max); `u64::MAX` or the kernel's largest value when none.
    pub swap_limit: u64,
    /// Times the limit was hit (v1 failcnt, v2 `max` events).
    pub failcnt: u64,
    /// Times the cgroup was out of memory.
    pub oom_events: u64,
    /// Processes killed by the OOM killer.
    pub oom_kills: u64,
    /// Every key of memory.stat.
    pub raw: BTreeMap<String, u64>,
    /// Every key of memory.events (`low`, `high`, `max`, `oom`,
    /// `oom_kill`, ...): v2 only, empty on v1.
    pub events: BTreeMap<String, u64>,
}

/// Process count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    /// Processes (and threads) now.
    pub current: u64,
    /// The limit (`u64::MAX` for none).
    pub limit: u64,
}

/// One block I/O counter of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IoEntry {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// `read_bytes`, `write_bytes`, `read_ios`, `write_ios`, ...
    pub op: String,
    /// The counter.
    pub value: u64,
}

/// Hugepage use for one page size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HugetlbStats {
    /// Bytes in use.
    pub usage: u64,
    /// Peak bytes (v1 only).
    pub max_usage: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

/// `dir/file` as a number, if the host has it.
pub(crate) fn opt_u64(dir: &Path, file: &str) -> Option<u64> {
    parse_u64(std::fs::read_to_string(dir.join(file)).ok()?.trim())
}

/// `dir/file` as flat `KEY VALUE` pairs (empty if missing).
pub(crate) fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    std::fs::read_to_string(dir.join(file))
        .map(|t| flat_keyed(&t).map(|(k, v)| (k.to_owned(), v)).collect())
        .unwrap_or_default()
}

/// Hugepage sizes of the host (`2MB`, `1GB`), from /sys/kernel/mm/hugepages.
pub(crate) fn hugepage_sizes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut sizes: Vec<String> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(match kb {
                k if k >= 1 << 20 => format!("{}GB", k >> 20),
                k if k >= 1 << 10 => format!("{}MB", k >> 10),
                k => format!("{k}KB"),
            })
        })
        .collect();
    sizes.sort();
    sizes
}

/// v2 io.stat: `MAJ:MIN rbytes=1 wbytes=2 rios=3 wios=4 ...`.
pub(crate) fn parse_io_stat(text: &str) -> Vec<IoEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(parse_dev) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let op = match k {
                "rbytes" => "read_bytes",
                "wbytes" => "write_bytes",
                "rios" => "read_ios",
                "wios" => "write_ios",
                "dbytes" => "discard_bytes",
                "dios" => "discard_ios",
                other => other,
            };
            if let Ok(value) = v.parse() {
                out.push(IoEntry {
                    major,
                    minor,
                    op: op.to_owned(),
                    value,
                });
            }
        }
    }
    out
}

/// v1 blkio.*: `MAJ:MIN Read 123` lines (and a `Total` line, skipped).
pub(crate) fn parse_blkio(text: &str, unit: &str) -> Vec<IoEntry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (major, minor) = parse_dev(f.next()?)?;
            let op = f.next()?.to_ascii_lowercase();
            let value = f.next()?.parse().ok()?;
            Some(IoEntry {
                major,
                minor,
                op: format!("{op}_{unit}"),
                value,
            })
        })
        .collect()
}

fn parse_dev(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_stat_and_blkio_parse() {
        let v2 = parse_io_stat("8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
        assert_eq!(v2.len(), 6);
        assert_eq!(
            (v2[0].major, v2[0].minor, v2[0].op.as_str(), v2[0].value),
            (8, 0, "read_bytes", 4096)
        );
        let v1 = parse_blkio("8:0 Read 512\n8:0 Write 0\nTotal 512\n", "bytes");
        assert_eq!(v1.len(), 2);
        assert_eq!(v1[0].op, "read_bytes");
        assert_eq!(v1[0].value, 512);
    }

    #[test]
    fn keyed_reads_max() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let _ = std::fs::write(dir.path().join("pids.max"), "max\n");
        let _ = std::fs::write(
            dir.path().join("memory.events"),
            "low 0\noom 2\noom_kill 1\n",
        );
        assert_eq!(opt_u64(dir.path(), "pids.max"), Some(u64::MAX));
        assert_eq!(keyed(dir.path(), "memory.events").get("oom_kill"), Some(&1));
        assert_eq!(opt_u64(dir.path(), "missing"), None);
    }
}
