//! skiff-core's cgroup statistics as containerd's cgroups v1 `Metrics`
//! (`io.containerd.cgroups.v1.Metrics`, what `ctr task metrics` decodes).

use containerd_shim::protos::cgroups::metrics::{
    BlkIOEntry, BlkIOStat, CPUStat, CPUUsage, HugetlbStat, MemoryEntry, MemoryOomControl,
    MemoryStat, Metrics, PidsStat, Throttle,
};
use skiff_core::Stats;

/// Convert `s`.
pub fn to_metrics(s: &Stats) -> Metrics {
    let raw = |k: &str| s.memory.raw.get(k).copied().unwrap_or(0);
    let memory = MemoryStat {
        cache: s.memory.cache,
        rss: s.memory.rss,
        rss_huge: raw("rss_huge"),
        mapped_file: raw("mapped_file"),
        dirty: raw("dirty"),
        writeback: raw("writeback"),
        pg_pg_in: raw("pgpgin"),
        pg_pg_out: raw("pgpgout"),
        pg_fault: raw("pgfault"),
        pg_maj_fault: raw("pgmajfault"),
        inactive_anon: raw("inactive_anon"),
        active_anon: raw("active_anon"),
        inactive_file: raw("inactive_file"),
        active_file: raw("active_file"),
        unevictable: raw("unevictable"),
        hierarchical_memory_limit: raw("hierarchical_memory_limit"),
        hierarchical_swap_limit: raw("hierarchical_memsw_limit"),
        total_cache: raw("total_cache"),
        total_rss: raw("total_rss"),
        total_rss_huge: raw("total_rss_huge"),
        total_mapped_file: raw("total_mapped_file"),
        total_dirty: raw("total_dirty"),
        total_writeback: raw("total_writeback"),
        total_pg_pg_in: raw("total_pgpgin"),
        total_pg_pg_out: raw("total_pgpgout"),
        total_pg_fault: raw("total_pgfault"),
        total_pg_maj_fault: raw("total_pgmajfault"),
        total_inactive_anon: raw("total_inactive_anon"),
        total_active_anon: raw("total_active_anon"),
        total_inactive_file: raw("total_inactive_file"),
        total_active_file: raw("total_active_file"),
        total_unevictable: raw("total_unevictable"),
        usage: Some(MemoryEntry {
            limit: s.memory.limit,
            usage: s.memory.usage,
            max: s.memory.max_usage,
            failcnt: s.memory.failcnt,
            ..Default::default()
        })
        .into(),
        swap: Some(MemoryEntry {
            limit: s.memory.swap_limit,
            usage: s.memory.swap_usage,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    let mut blkio = BlkIOStat::default();
    for e in &s.io {
        // skiff names counters `read_bytes`, `write_ios`, ...: cgroups v1
        // puts bytes and operation counts in separate lists, ops capitalized.
        let Some((op, unit)) = e.op.rsplit_once('_') else {
            continue;
        };
        let mut name = op.to_owned();
        if let Some(first) = name.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let entry = BlkIOEntry {
            op: name,
            major: u64::from(e.major),
            minor: u64::from(e.minor),
            value: e.value,
            ..Default::default()
        };
        match unit {
            "bytes" => blkio.io_service_bytes_recursive.push(entry),
            "ios" | "serviced" => blkio.io_serviced_recursive.push(entry),
            _ => {}
        }
    }
    Metrics {
        hugetlb: s
            .hugetlb
            .iter()
            .map(|(size, h)| HugetlbStat {
                usage: h.usage,
                max: h.max_usage,
                failcnt: h.failcnt,
                pagesize: size.clone(),
                ..Default::default()
            })
            .collect(),
        pids: Some(PidsStat {
            current: s.pids.current,
            limit: if s.pids.limit == u64::MAX {
                0
            } else {
                s.pids.limit
            },
            ..Default::default()
        })
        .into(),
        cpu: Some(CPUStat {
            usage: Some(CPUUsage {
                total: s.cpu.usage_ns,
                kernel: s.cpu.system_ns,
                user: s.cpu.user_ns,
                per_cpu: s.cpu.per_cpu_ns.clone(),
                ..Default::default()
            })
            .into(),
            throttling: Some(Throttle {
                periods: s.cpu.periods,
                throttled_periods: s.cpu.throttled_periods,
                throttled_time: s.cpu.throttled_ns,
                ..Default::default()
            })
            .into(),
            ..Default::default()
        })
        .into(),
        memory: Some(memory).into(),
        blkio: Some(blkio).into(),
        memory_oom_control: Some(MemoryOomControl {
            oom_kill: s.memory.oom_kills,
            under_oom: 0,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use skiff_core::IoEntry;

    #[test]
    fn io_counters_go_to_bytes_and_serviced_lists() {
        let mut s = Stats {
            io: vec![
                IoEntry {
                    major: 8,
                    minor: 0,
                    op: "read_bytes".into(),
                    value: 512,
                },
                IoEntry {
                    major: 8,
                    minor: 0,
                    op: "write_ios".into(),
                    value: 3,
                },
            ],
            ..Stats::default()
        };
        s.pids.limit = u64::MAX;
        s.pids.current = 2;
        s.memory.usage = 4096;
        let m = to_metrics(&s);
        let blkio = m.blkio.as_ref().expect("blkio");
        assert_eq!(blkio.io_service_bytes_recursive.len(), 1);
        assert_eq!(blkio.io_service_bytes_recursive[0].op, "Read");
        assert_eq!(blkio.io_service_bytes_recursive[0].value, 512);
        assert_eq!(blkio.io_serviced_recursive[0].op, "Write");
        assert_eq!(m.pids.limit, 0, "no limit is 0 for containerd");
        assert_eq!(m.pids.current, 2);
        assert_eq!(m.memory.usage.usage, 4096);
    }
}
