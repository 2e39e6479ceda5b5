//! skiff-core's cgroup statistics as containerd's cgroup metrics, the type
//! runc's v2 shim answers with for the hierarchy the container is in:
//! `io.containerd.cgroups.v1.Metrics` for v1 controllers (hybrid hosts
//! included), `io.containerd.cgroups.v2.Metrics` for a pure cgroup v2 host.
//! Both are what `ctr task metrics` and the CRI plugin decode.

use containerd_shim::protos::cgroups::metrics::{
    BlkIOEntry, BlkIOStat, CPUStat, CPUUsage, HugetlbStat, MemoryEntry, MemoryOomControl,
    MemoryStat, Metrics, PidsStat, Throttle,
};
use containerd_shim::protos::cgroups_v2::metrics as v2;
use skiff_core::Stats;

/// Convert `s` to the v1 type: for stats read from v1 controllers.
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

/// Convert `s` to the v2 type, as containerd's cgroup2 manager fills it
/// (runc's shim on a v2 host): counters in the kernel's units (µs, bytes),
/// an unlimited limit as `u64::MAX`, one io entry per device. For stats
/// read from the unified hierarchy (`s.version` is v2).
///
/// Not filled: PSI, `nr_bursts`/`burst_usec`, `swap_max_usage`, rdma and
/// network (skiff-core does not read them), and a hugetlb `max`, which
/// containerd takes from the limit file and skiff-core reports as the v1
/// peak (0 on v2).
pub fn to_metrics_v2(s: &Stats) -> v2::Metrics {
    let raw = |k: &str| s.memory.raw.get(k).copied().unwrap_or(0);
    let event = |k: &str| s.memory.events.get(k).copied().unwrap_or(0);
    let m = &s.memory;
    let memory = v2::MemoryStat {
        anon: raw("anon"),
        file: raw("file"),
        kernel_stack: raw("kernel_stack"),
        slab: raw("slab"),
        sock: raw("sock"),
        shmem: raw("shmem"),
        file_mapped: raw("file_mapped"),
        file_dirty: raw("file_dirty"),
        file_writeback: raw("file_writeback"),
        anon_thp: raw("anon_thp"),
        inactive_anon: raw("inactive_anon"),
        active_anon: raw("active_anon"),
        inactive_file: raw("inactive_file"),
        active_file: raw("active_file"),
        unevictable: raw("unevictable"),
        slab_reclaimable: raw("slab_reclaimable"),
        slab_unreclaimable: raw("slab_unreclaimable"),
        pgfault: raw("pgfault"),
        pgmajfault: raw("pgmajfault"),
        workingset_refault: raw("workingset_refault"),
        workingset_activate: raw("workingset_activate"),
        workingset_nodereclaim: raw("workingset_nodereclaim"),
        pgrefill: raw("pgrefill"),
        pgscan: raw("pgscan"),
        pgsteal: raw("pgsteal"),
        pgactivate: raw("pgactivate"),
        pgdeactivate: raw("pgdeactivate"),
        pglazyfree: raw("pglazyfree"),
        pglazyfreed: raw("pglazyfreed"),
        thp_fault_alloc: raw("thp_fault_alloc"),
        thp_collapse_alloc: raw("thp_collapse_alloc"),
        usage: m.usage,
        usage_limit: m.limit,
        swap_usage: m.swap_usage,
        swap_limit: swap_max(m),
        max_usage: m.max_usage,
        ..Default::default()
    };
    // io.stat has a line per device: gather skiff's per-counter entries.
    let mut io: Vec<v2::IOEntry> = Vec::new();
    for e in &s.io {
        let (major, minor) = (u64::from(e.major), u64::from(e.minor));
        let at = match io.iter().position(|d| d.major == major && d.minor == minor) {
            Some(i) => i,
            None => {
                io.push(v2::IOEntry {
                    major,
                    minor,
                    ..Default::default()
                });
                io.len() - 1
            }
        };
        let d = &mut io[at];
        match e.op.as_str() {
            "read_bytes" => d.rbytes = e.value,
            "write_bytes" => d.wbytes = e.value,
            "read_ios" => d.rios = e.value,
            "write_ios" => d.wios = e.value,
            _ => {}
        }
    }
    v2::Metrics {
        pids: Some(v2::PidsStat {
            current: s.pids.current,
            limit: s.pids.limit,
            ..Default::default()
        })
        .into(),
        cpu: Some(v2::CPUStat {
            usage_usec: s.cpu.usage_ns / 1000,
            user_usec: s.cpu.user_ns / 1000,
            system_usec: s.cpu.system_ns / 1000,
            nr_periods: s.cpu.periods,
            nr_throttled: s.cpu.throttled_periods,
            throttled_usec: s.cpu.throttled_ns / 1000,
            ..Default::default()
        })
        .into(),
        memory: Some(memory).into(),
        io: Some(v2::IOStat {
            usage: io,
            ..Default::default()
        })
        .into(),
        hugetlb: s
            .hugetlb
            .iter()
            .map(|(size, h)| v2::HugeTlbStat {
                current: h.usage,
                max: h.max_usage,
                pagesize: size.clone(),
                failcnt: h.failcnt,
                ..Default::default()
            })
            .collect(),
        memory_events: Some(v2::MemoryEvents {
            low: event("low"),
            high: event("high"),
            max: event("max"),
            oom: event("oom"),
            oom_kill: event("oom_kill"),
            oom_group_kill: event("oom_group_kill"),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

/// memory.swap.max, from skiff-core's v1-style memory+swap limit (the sum
/// of memory.max and memory.swap.max when both are set): `u64::MAX` when
/// either is unlimited, which also covers a swap limit under no memory
/// limit (runc refuses to set one).
fn swap_max(m: &skiff_core::MemoryStats) -> u64 {
    if m.swap_limit == u64::MAX || m.limit == u64::MAX {
        u64::MAX
    } else {
        m.swap_limit.saturating_sub(m.limit)
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

    #[test]
    fn v2_stats_fill_the_v2_type() {
        let mut s = Stats {
            version: skiff_core::CgroupVersion::V2,
            io: [
                "read_bytes",
                "write_bytes",
                "read_ios",
                "write_ios",
                "discard_bytes",
            ]
            .iter()
            .enumerate()
            .map(|(i, op)| IoEntry {
                major: 8,
                minor: 0,
                op: (*op).into(),
                value: 10 + i as u64,
            })
            .chain(std::iter::once(IoEntry {
                major: 253,
                minor: 1,
                op: "write_bytes".into(),
                value: 7,
            }))
            .collect(),
            ..Stats::default()
        };
        s.pids.current = 3;
        s.pids.limit = u64::MAX;
        s.cpu.usage_ns = 5_000_000;
        s.cpu.user_ns = 3_000_000;
        s.cpu.system_ns = 2_000_000;
        s.cpu.periods = 9;
        s.cpu.throttled_periods = 4;
        s.cpu.throttled_ns = 1_000;
        s.memory.usage = 4096;
        s.memory.max_usage = 8192;
        s.memory.limit = 1 << 20;
        s.memory.swap_usage = 512;
        s.memory.swap_limit = 3 << 20;
        for (i, k) in [
            "anon",
            "file",
            "kernel_stack",
            "slab",
            "sock",
            "shmem",
            "file_mapped",
        ]
        .iter()
        .chain(&["file_dirty", "file_writeback", "anon_thp", "inactive_anon"])
        .chain(&["active_anon", "inactive_file", "active_file", "unevictable"])
        .chain(&["pgfault", "pgmajfault"])
        .enumerate()
        {
            s.memory.raw.insert((*k).into(), 100 + i as u64);
        }
        for (i, k) in ["low", "high", "max", "oom", "oom_kill"].iter().enumerate() {
            s.memory.events.insert((*k).into(), 1 + i as u64);
        }
        s.hugetlb.insert(
            "2MB".into(),
            skiff_core::HugetlbStats {
                usage: 2 << 20,
                max_usage: 0,
                failcnt: 6,
            },
        );
        let m = to_metrics_v2(&s);
        assert_eq!((m.pids.current, m.pids.limit), (3, u64::MAX));
        let c = &m.cpu;
        assert_eq!(
            (c.usage_usec, c.user_usec, c.system_usec),
            (5000, 3000, 2000)
        );
        assert_eq!((c.nr_periods, c.nr_throttled, c.throttled_usec), (9, 4, 1));
        let mem = &m.memory;
        assert_eq!(
            (mem.usage, mem.usage_limit, mem.max_usage),
            (4096, 1 << 20, 8192)
        );
        assert_eq!((mem.swap_usage, mem.swap_limit), (512, 2 << 20));
        let got = [
            mem.anon,
            mem.file,
            mem.kernel_stack,
            mem.slab,
            mem.sock,
            mem.shmem,
            mem.file_mapped,
            mem.file_dirty,
            mem.file_writeback,
            mem.anon_thp,
            mem.inactive_anon,
            mem.active_anon,
            mem.inactive_file,
            mem.active_file,
            mem.unevictable,
            mem.pgfault,
            mem.pgmajfault,
        ];
        assert_eq!(got.to_vec(), (100..117).collect::<Vec<u64>>());
        let ev = &m.memory_events;
        assert_eq!(
            (ev.low, ev.high, ev.max, ev.oom, ev.oom_kill),
            (1, 2, 3, 4, 5)
        );
        let io: Vec<_> =
            m.io.usage
                .iter()
                .map(|e| (e.major, e.minor, e.rbytes, e.wbytes, e.rios, e.wios))
                .collect();
        assert_eq!(io, vec![(8, 0, 10, 11, 12, 13), (253, 1, 0, 7, 0, 0)]);
        assert_eq!(m.hugetlb.len(), 1);
        assert_eq!(
            (
                m.hugetlb[0].pagesize.as_str(),
                m.hugetlb[0].current,
                m.hugetlb[0].failcnt
            ),
            ("2MB", 2 << 20, 6)
        );
    }

    #[test]
    fn unlimited_v2_memory_and_swap_stay_max() {
        let mut s = Stats::default();
        s.memory.limit = u64::MAX;
        s.memory.swap_limit = u64::MAX;
        let m = to_metrics_v2(&s);
        assert_eq!(m.memory.usage_limit, u64::MAX);
        assert_eq!(m.memory.swap_limit, u64::MAX);
        // A memory limit with no swap allowed: memory+swap is the limit.
        s.memory.limit = 1 << 20;
        s.memory.swap_limit = 1 << 20;
        assert_eq!(to_metrics_v2(&s).memory.swap_limit, 0);
    }
}
