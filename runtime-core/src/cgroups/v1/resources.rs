//! `linux.resources` → v1 controller files.

use std::io::Write;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::V1;
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::{convert, fs, CgroupError};

const R: &str = "linux.resources";

impl V1 {
    /// Write every set field; `unified_hugetlb` leaves hugepage limits to the
    /// unified tree (hybrid hosts whose hugetlb controller is on v2).
    pub(crate) fn apply(
        &self,
        res: &LinuxResources,
        rules: Option<&[DeviceRule]>,
        unified_hugetlb: bool,
    ) -> Result<(), CgroupError> {
        if let Some(m) = res.memory() {
            self.memory(m)?;
        }
        if let Some(c) = res.cpu() {
            self.cpu(c)?;
        }
        if let Some(v) = res.pids().and_then(|p| convert::pids_max(p.limit())) {
            let field = format!("{R}.pids.limit");
            fs::write(self.dir("pids", &field)?, "pids.max", &v, &field)?;
        }
        if let Some(b) = res.block_io() {
            self.block_io(b)?;
        }
        if !unified_hugetlb {
            for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
                let field = format!("{R}.hugepageLimits[{i}]");
                let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
                fs::write(
                    self.dir("hugetlb", &field)?,
                    &file,
                    &h.limit().to_string(),
                    &field,
                )?;
            }
        }
        if let Some(n) = res.network() {
            if let Some(id) = n.class_id() {
                let field = format!("{R}.network.classID");
                fs::write(
                    self.dir("net_cls", &field)?,
                    "net_cls.classid",
                    &id.to_string(),
                    &field,
                )?;
            }
            for (i, p) in n.priorities().iter().flatten().enumerate() {
                let field = format!("{R}.network.priorities[{i}]");
                let v = format!("{} {}", p.name(), p.priority());
                fs::write(
                    self.dir("net_prio", &field)?,
                    "net_prio.ifpriomap",
                    &v,
                    &field,
                )?;
            }
        }
        for (dev, limit) in res.rdma().iter().flatten() {
            let field = format!("{R}.rdma.{dev}");
            fs::write(
                self.dir("rdma", &field)?,
                "rdma.max",
                &rdma_line(dev, limit),
                &field,
            )?;
        }
        if res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::invalid(
                format!("{R}.unified"),
                "unified settings need cgroup v2; this host's controllers are v1",
            ));
        }
        match rules {
            Some(rules) => self.devices(rules),
            None => Ok(()),
        }
    }

    fn memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.memory.{n}");
        let dir = self.dir("memory", &f("limit"))?;
        warn_ignored(m.kernel(), "kernel");
        warn_ignored(m.kernel_tcp(), "kernelTCP");
        let limit = m.limit().unwrap_or(0);
        let mut swap = m.swap().unwrap_or(0);
        if limit == -1 && swap == 0 {
            swap = -1;
        }
        if m.check_before_update() == Some(true) && limit > 0 {
            let usage = fs::read_u64(dir, "memory.usage_in_bytes")?;
            if (limit as u64) < usage {
                return Err(CgroupError::invalid(
                    f("limit"),
                    format!("{limit} is below the current usage {usage} (checkBeforeUpdate)"),
                ));
            }
        }
        let write_limit = || {
            fs::write(
                dir,
                "memory.limit_in_bytes",
                &limit.to_string(),
                &f("limit"),
            )
        };
        let write_swap = || {
            fs::write(
                dir,
                "memory.memsw.limit_in_bytes",
                &swap.to_string(),
                &f("swap"),
            )
        };
        match (limit, swap) {
            (0, 0) => {}
            (l, 0) if l != 0 => write_limit()?,
            (0, _) => write_swap()?,
            _ => {
                // The kernel wants memory <= memory+swap at every step.
                let current = fs::read_u64(dir, "memory.limit_in_bytes")?;
                if swap == -1 || current < swap as u64 {
                    write_swap()?;
                    write_limit()?;
                } else {
                    write_limit()?;
                    write_swap()?;
                }
            }
        }
        if let Some(r) = m.reservation().filter(|r| *r != 0) {
            fs::write(
                dir,
                "memory.soft_limit_in_bytes",
                &r.to_string(),
                &f("reservation"),
            )?;
        }
        if let Some(s) = m.swappiness() {
            fs::write(dir, "memory.swappiness", &s.to_string(), &f("swappiness"))?;
        }
        if m.disable_oom_killer() == Some(true) {
            fs::write(dir, "memory.oom_control", "1", &f("disableOOMKiller"))?;
        }
        if m.use_hierarchy() == Some(true) {
            fs::write(dir, "memory.use_hierarchy", "1", &f("useHierarchy"))?;
        }
        Ok(())
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.cpu.{n}");
        let cpu = || self.dir("cpu", &f("shares"));
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            fs::write(cpu()?, "cpu.shares", &s.to_string(), &f("shares"))?;
        }
        if let Some(p) = c.period().filter(|p| *p != 0) {
            fs::write(cpu()?, "cpu.cfs_period_us", &p.to_string(), &f("period"))?;
        }
        if let Some(q) = c.quota().filter(|q| *q != 0) {
            fs::write(cpu()?, "cpu.cfs_quota_us", &q.to_string(), &f("quota"))?;
        }
        if let Some(b) = c.burst() {
            fs::write(cpu()?, "cpu.cfs_burst_us", &b.to_string(), &f("burst"))?;
        }
        // The runtime must fit the period: set the period first.
        if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
            fs::write(
                cpu()?,
                "cpu.rt_period_us",
                &p.to_string(),
                &f("realtimePeriod"),
            )?;
        }
        if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
            fs::write(
                cpu()?,
                "cpu.rt_runtime_us",
                &r.to_string(),
                &f("realtimeRuntime"),
            )?;
        }
        if let Some(i) = c.idle() {
            fs::write(cpu()?, "cpu.idle", &i.to_string(), &f("idle"))?;
        }
        for (name, file, v) in [
            ("cpus", "cpuset.cpus", c.cpus()),
            ("mems", "cpuset.mems", c.mems()),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                fs::write(self.dir("cpuset", &f(name))?, file, v, &f(name))?;
            }
        }
        Ok(())
    }

    fn block_io(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        let f = |n: &str| format!("{R}.blockIO.{n}");
        let dir = self.dir("blkio", &f("weight"))?;
        // Kernels with BFQ only have blkio.bfq.weight.
        let weight_file = if dir.join("blkio.weight").exists() {
            "blkio.weight"
        } else {
            "blkio.bfq.weight"
        };
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            fs::write(dir, weight_file, &w.to_string(), &f("weight"))?;
        }
        if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
            fs::write(dir, "blkio.leaf_weight", &w.to_string(), &f("leafWeight"))?;
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            let field = f(&format!("weightDevice[{i}]"));
            if let Some(w) = d.weight() {
                let v = format!("{}:{} {w}", d.major(), d.minor());
                fs::write(dir, &format!("{weight_file}_device"), &v, &field)?;
            }
            if let Some(w) = d.leaf_weight() {
                let v = format!("{}:{} {w}", d.major(), d.minor());
                fs::write(dir, "blkio.leaf_weight_device", &v, &field)?;
            }
        }
        let throttles = [
            (
                "throttleReadBpsDevice",
                "read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (name, file, list) in throttles {
            for (i, d) in list.iter().flatten().enumerate() {
                let v = format!("{}:{} {}", d.major(), d.minor(), d.rate());
                fs::write(
                    dir,
                    &format!("blkio.throttle.{file}"),
                    &v,
                    &f(&format!("{name}[{i}]")),
                )?;
            }
        }
        Ok(())
    }

    /// Start from deny-all and apply the rules in order.
    fn devices(&self, rules: &[DeviceRule]) -> Result<(), CgroupError> {
        let field = format!("{R}.devices");
        let Some(dir) = self.dirs.get("devices") else {
            // A host without the controller has nothing to restrict with.
            return Ok(());
        };
        fs::write(dir, "devices.deny", "a", &field)?;
        for rule in rules {
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            fs::write(dir, file, &rule.v1_line(), &field)?;
        }
        Ok(())
    }
}

/// `mlx5_1 hca_handle=3 hca_object=max`.
pub(crate) fn rdma_line(dev: &str, limit: &oci_spec::runtime::LinuxRdma) -> String {
    let n = |v: Option<u32>| v.map_or_else(|| "max".to_owned(), |v| v.to_string());
    format!(
        "{dev} hca_handle={} hca_object={}",
        n(limit.hca_handles()),
        n(limit.hca_objects())
    )
}

fn warn_ignored(v: Option<i64>, name: &str) {
    if v.is_some() {
        let _ = writeln!(
            std::io::stderr(),
            "skiff: warning: linux.resources.memory.{name} is ignored (the kernel dropped kernel memory limits)"
        );
    }
}
