//! `linux.resources` → v2 files (Documentation/admin-guide/cgroup-v2.rst),
//! converting the spec's v1 units as runc does.

use std::io::Write;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::V2;
use crate::cgroups::convert::{self, blkio_weight_to_io, max_or, shares_to_weight, swap_v2};
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::v1::rdma_line;
use crate::cgroups::{bpf, fs, CgroupError};

const R: &str = "linux.resources";

fn unsupported(field: &str, why: &str) -> CgroupError {
    CgroupError::invalid(
        format!("{R}.{field}"),
        format!("not supported on cgroup v2: {why}"),
    )
}

fn warn(field: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "skiff: warning: {R}.{field} is ignored: {why}"
    );
}

impl V2 {
    pub(crate) fn apply(
        &self,
        res: &LinuxResources,
        rules: Option<&[DeviceRule]>,
    ) -> Result<(), CgroupError> {
        let dir = &self.dir;
        if let Some(m) = res.memory() {
            self.memory(m)?;
        }
        if let Some(c) = res.cpu() {
            self.cpu(c)?;
        }
        if let Some(v) = res.pids().and_then(|p| convert::pids_max(p.limit())) {
            fs::write(dir, "pids.max", &v, &format!("{R}.pids.limit"))?;
        }
        if let Some(b) = res.block_io() {
            self.io(b)?;
        }
        self.apply_hugetlb(res)?;
        if let Some(n) = res.network() {
            if n.class_id().is_some() {
                return Err(CgroupError::NoController {
                    field: format!("{R}.network.classID"),
                    controller: "net_cls".to_owned(),
                });
            }
            if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                return Err(CgroupError::NoController {
                    field: format!("{R}.network.priorities"),
                    controller: "net_prio".to_owned(),
                });
            }
        }
        for (dev, limit) in res.rdma().iter().flatten() {
            fs::write(
                dir,
                "rdma.max",
                &rdma_line(dev, limit),
                &format!("{R}.rdma.{dev}"),
            )?;
        }
        let mut unified: Vec<_> = res.unified().iter().flatten().collect();
        unified.sort();
        for (key, value) in unified {
            let field = format!("{R}.unified.{key}");
            if !dir.join(key).exists() {
                return Err(CgroupError::invalid(
                    field,
                    "no such cgroup file (unknown key, or its controller is not enabled)",
                ));
            }
            fs::write(dir, key, value, &field)?;
        }
        if let Some(rules) = rules.filter(|_| self.bpf) {
            bpf::attach_device_filter(dir, rules)?;
        }
        Ok(())
    }

    /// hugetlb.<size>.max (also used on hybrid hosts).
    pub(crate) fn apply_hugetlb(&self, res: &LinuxResources) -> Result<(), CgroupError> {
        for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
            let field = format!("{R}.hugepageLimits[{i}]");
            let file = format!("hugetlb.{}.max", h.page_size());
            fs::write(&self.dir, &file, &h.limit().to_string(), &field)?;
        }
        Ok(())
    }

    fn memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.memory.{n}");
        let dir = &self.dir;
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            warn("memory.kernel", "the kernel dropped kernel memory limits");
        }
        if m.swappiness().is_some() {
            return Err(unsupported(
                "memory.swappiness",
                "there is no memory.swappiness",
            ));
        }
        if m.disable_oom_killer() == Some(true) {
            warn(
                "memory.disableOOMKiller",
                "cgroup v2 cannot disable the OOM killer",
            );
        }
        let limit = m.limit().filter(|l| *l != 0);
        if let Some(l) = limit {
            if m.check_before_update() == Some(true) && l > 0 {
                let usage = fs::read_u64(dir, "memory.current")?;
                if (l as u64) < usage {
                    return Err(CgroupError::invalid(
                        f("limit"),
                        format!("{l} is below the current usage {usage} (checkBeforeUpdate)"),
                    ));
                }
            }
        }
        if let Some(s) = swap_v2(m.swap(), limit) {
            if s < -1 {
                return Err(CgroupError::invalid(
                    f("swap"),
                    "memory+swap is below the memory limit",
                ));
            }
            fs::write(dir, "memory.swap.max", &max_or(s), &f("swap"))?;
        }
        if let Some(l) = limit {
            fs::write(dir, "memory.max", &max_or(l), &f("limit"))?;
        }
        if let Some(r) = m.reservation().filter(|r| *r != 0) {
            fs::write(dir, "memory.low", &max_or(r), &f("reservation"))?;
        }
        Ok(())
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.cpu.{n}");
        let dir = &self.dir;
        if c.realtime_runtime().is_some_and(|r| r != 0)
            || c.realtime_period().is_some_and(|p| p != 0)
        {
            return Err(unsupported(
                "cpu.realtimeRuntime",
                "no realtime group scheduling",
            ));
        }
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            fs::write(
                dir,
                "cpu.weight",
                &shares_to_weight(s).to_string(),
                &f("shares"),
            )?;
        }
        let quota = c.quota().unwrap_or(0);
        let period = c.period().unwrap_or(0);
        if quota != 0 || period != 0 {
            let q = if quota > 0 {
                quota.to_string()
            } else {
                "max".to_owned()
            };
            let p = if period != 0 { period } else { 100_000 };
            fs::write(dir, "cpu.max", &format!("{q} {p}"), &f("quota"))?;
        }
        if let Some(b) = c.burst() {
            fs::write(dir, "cpu.max.burst", &b.to_string(), &f("burst"))?;
        }
        if let Some(i) = c.idle() {
            fs::write(dir, "cpu.idle", &i.to_string(), &f("idle"))?;
        }
        for (name, file, v) in [
            ("cpus", "cpuset.cpus", c.cpus()),
            ("mems", "cpuset.mems", c.mems()),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                fs::write(dir, file, v, &f(name))?;
            }
        }
        Ok(())
    }

    fn io(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.blockIO.{n}");
        let dir = &self.dir;
        // With BFQ the weight is io.bfq.weight, in the spec's own 1..1000.
        let bfq = dir.join("io.bfq.weight").exists();
        let (file, conv): (&str, fn(u16) -> u64) = if bfq {
            ("io.bfq.weight", u64::from)
        } else {
            ("io.weight", blkio_weight_to_io)
        };
        if b.leaf_weight().is_some() {
            warn("blockIO.leafWeight", "cgroup v2 has no leaf weights");
        }
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            fs::write(dir, file, &format!("default {}", conv(w)), &f("weight"))?;
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            if let Some(w) = d.weight() {
                let v = format!("{}:{} {}", d.major(), d.minor(), conv(w));
                fs::write(dir, file, &v, &f(&format!("weightDevice[{i}]")))?;
            }
        }
        let throttles = [
            (
                "throttleReadBpsDevice",
                "rbps",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "wbps",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "riops",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "wiops",
                b.throttle_write_iops_device(),
            ),
        ];
        for (name, key, list) in throttles {
            for (i, d) in list.iter().flatten().enumerate() {
                let v = format!("{}:{} {key}={}", d.major(), d.minor(), d.rate());
                fs::write(dir, "io.max", &v, &f(&format!("{name}[{i}]")))?;
            }
        }
        Ok(())
    }
}
