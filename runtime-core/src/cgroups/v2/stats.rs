//! v2 stats: cpu.stat, memory.*, pids.*, io.stat, hugetlb.*.

use super::V2;
use crate::cgroups::stats::{
    hugepage_sizes, keyed, opt_u64, parse_io_stat, CgroupVersion, CpuStats, HugetlbStats,
    MemoryStats, PidsStats, Stats,
};
use crate::cgroups::CgroupError;

impl V2 {
    pub(crate) fn stats(&self) -> Result<Stats, CgroupError> {
        let dir = &self.dir;
        let mut s = Stats {
            version: CgroupVersion::V2,
            ..Stats::default()
        };
        let cpu = keyed(dir, "cpu.stat");
        let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
        s.cpu = CpuStats {
            usage_ns: us("usage_usec"),
            user_ns: us("user_usec"),
            system_ns: us("system_usec"),
            per_cpu_ns: Vec::new(),
            periods: cpu.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
            throttled_ns: us("throttled_usec"),
        };
        let raw = keyed(dir, "memory.stat");
        let events = keyed(dir, "memory.events");
        s.memory = MemoryStats {
            usage: opt_u64(dir, "memory.current").unwrap_or(0),
            max_usage: opt_u64(dir, "memory.peak").unwrap_or(0),
            limit: opt_u64(dir, "memory.max").unwrap_or(u64::MAX),
            cache: raw.get("file").copied().unwrap_or(0),
            rss: raw.get("anon").copied().unwrap_or(0),
            swap_usage: opt_u64(dir, "memory.swap.current").unwrap_or(0),
            // memory+swap, as v1 reports it.
            swap_limit: match (opt_u64(dir, "memory.max"), opt_u64(dir, "memory.swap.max")) {
                (Some(m), Some(sw)) if m != u64::MAX && sw != u64::MAX => m.saturating_add(sw),
                _ => u64::MAX,
            },
            failcnt: events.get("max").copied().unwrap_or(0),
            oom_events: events.get("oom").copied().unwrap_or(0),
            oom_kills: events.get("oom_kill").copied().unwrap_or(0),
            raw,
            events,
        };
        s.pids = PidsStats {
            current: opt_u64(dir, "pids.current").unwrap_or(0),
            limit: opt_u64(dir, "pids.max").unwrap_or(u64::MAX),
        };
        s.io = parse_io_stat(&std::fs::read_to_string(dir.join("io.stat")).unwrap_or_default());
        for size in hugepage_sizes() {
            let Some(usage) = opt_u64(dir, &format!("hugetlb.{size}.current")) else {
                continue;
            };
            let failcnt = keyed(dir, &format!("hugetlb.{size}.events"))
                .get("max")
                .copied()
                .unwrap_or(0);
            s.hugetlb.insert(
                size,
                HugetlbStats {
                    usage,
                    max_usage: 0,
                    failcnt,
                },
            );
        }
        Ok(s)
    }
}
