//! v1 stats: cpuacct, cpu, memory, pids, blkio, hugetlb files.

use super::V1;
use crate::cgroups::stats::{
    hugepage_sizes, keyed, opt_u64, parse_blkio, CpuStats, HugetlbStats, MemoryStats, PidsStats,
    Stats,
};
use crate::cgroups::CgroupError;

/// cpuacct.stat counts USER_HZ ticks, 100 per second on Linux.
const NS_PER_TICK: u64 = 10_000_000;

impl V1 {
    pub(crate) fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        if let Some(dir) = self.dirs.get("cpuacct") {
            let ticks = keyed(dir, "cpuacct.stat");
            let per_cpu =
                std::fs::read_to_string(dir.join("cpuacct.usage_percpu")).unwrap_or_default();
            s.cpu = CpuStats {
                usage_ns: opt_u64(dir, "cpuacct.usage").unwrap_or(0),
                user_ns: ticks.get("user").copied().unwrap_or(0) * NS_PER_TICK,
                system_ns: ticks.get("system").copied().unwrap_or(0) * NS_PER_TICK,
                per_cpu_ns: per_cpu
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect(),
                ..CpuStats::default()
            };
        }
        if let Some(dir) = self.dirs.get("cpu") {
            let stat = keyed(dir, "cpu.stat");
            s.cpu.periods = stat.get("nr_periods").copied().unwrap_or(0);
            s.cpu.throttled_periods = stat.get("nr_throttled").copied().unwrap_or(0);
            s.cpu.throttled_ns = stat.get("throttled_time").copied().unwrap_or(0);
        }
        if let Some(dir) = self.dirs.get("memory") {
            let raw = keyed(dir, "memory.stat");
            let oom = keyed(dir, "memory.oom_control");
            let usage = opt_u64(dir, "memory.usage_in_bytes").unwrap_or(0);
            let memsw = opt_u64(dir, "memory.memsw.usage_in_bytes").unwrap_or(usage);
            s.memory = MemoryStats {
                usage,
                max_usage: opt_u64(dir, "memory.max_usage_in_bytes").unwrap_or(0),
                limit: opt_u64(dir, "memory.limit_in_bytes").unwrap_or(0),
                cache: raw.get("cache").copied().unwrap_or(0),
                rss: raw.get("rss").copied().unwrap_or(0),
                swap_usage: memsw.saturating_sub(usage),
                swap_limit: opt_u64(dir, "memory.memsw.limit_in_bytes").unwrap_or(0),
                failcnt: opt_u64(dir, "memory.failcnt").unwrap_or(0),
                oom_events: oom.get("under_oom").copied().unwrap_or(0)
                    + oom.get("oom_kill").copied().unwrap_or(0),
                oom_kills: oom.get("oom_kill").copied().unwrap_or(0),
                raw,
                events: Default::default(),
            };
        }
        if let Some(dir) = self.dirs.get("pids") {
            s.pids = PidsStats {
                current: opt_u64(dir, "pids.current").unwrap_or(0),
                limit: opt_u64(dir, "pids.max").unwrap_or(u64::MAX),
            };
        }
        if let Some(dir) = self.dirs.get("blkio") {
            for (file, unit) in [
                ("blkio.throttle.io_service_bytes_recursive", "bytes"),
                ("blkio.throttle.io_serviced_recursive", "ios"),
            ] {
                let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
                s.io.extend(parse_blkio(&text, unit));
            }
        }
        if let Some(dir) = self.dirs.get("hugetlb") {
            for size in hugepage_sizes() {
                let file = |what: &str| format!("hugetlb.{size}.{what}");
                let h = HugetlbStats {
                    usage: opt_u64(dir, &file("usage_in_bytes")).unwrap_or(0),
                    max_usage: opt_u64(dir, &file("max_usage_in_bytes")).unwrap_or(0),
                    failcnt: opt_u64(dir, &file("failcnt")).unwrap_or(0),
                };
                s.hugetlb.insert(size, h);
            }
        }
        Ok(s)
    }
}
