//! Checks on `linux.resources` made before any cgroup is touched, so that bad
//! input leaves nothing behind. Each error names the field.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::convert::{is_cpu_list, is_hugepage_size};
use super::devices::DeviceRule;
use super::CgroupError;

const R: &str = "linux.resources";
/// The kernel's PID_MAX_LIMIT: a larger pids limit is meaningless.
const PID_MAX_LIMIT: i64 = 4 * 1024 * 1024;

/// Unified keys skiff manages itself and a spec may not set.
const RESERVED_UNIFIED: &[&str] = &[
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.subtree_control",
    "cgroup.kill",
    "cgroup.freeze",
    "cgroup.type",
];

fn bad(field: String, reason: impl Into<String>) -> CgroupError {
    CgroupError::invalid(field, reason)
}

/// Check every value of `res`.
pub(crate) fn resources(res: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(m) = res.memory() {
        memory(m)?;
    }
    if let Some(c) = res.cpu() {
        cpu(c)?;
    }
    if let Some(p) = res.pids() {
        if p.limit() > PID_MAX_LIMIT {
            return Err(bad(
                format!("{R}.pids.limit"),
                format!(
                    "{} is above the kernel's limit of {PID_MAX_LIMIT}",
                    p.limit()
                ),
            ));
        }
    }
    if let Some(b) = res.block_io() {
        block_io(b)?;
    }
    for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("{R}.hugepageLimits[{i}]");
        if !is_hugepage_size(h.page_size()) {
            return Err(bad(
                format!("{field}.pageSize"),
                format!("{:?} is not a size like 2MB or 1GB", h.page_size()),
            ));
        }
        if h.limit() < 0 {
            return Err(bad(format!("{field}.limit"), "must not be negative"));
        }
    }
    if let Some(n) = res.network() {
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            if p.name().is_empty() || p.name().contains(char::is_whitespace) {
                return Err(bad(
                    format!("{R}.network.priorities[{i}].name"),
                    format!("{:?} is not an interface name", p.name()),
                ));
            }
        }
    }
    for dev in res.rdma().iter().flat_map(|m| m.keys()) {
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            return Err(bad(
                format!("{R}.rdma"),
                format!("{dev:?} is not a device name"),
            ));
        }
    }
    for (key, value) in res.unified().iter().flatten() {
        unified(key, value)?;
    }
    for (i, d) in res.devices().iter().flatten().enumerate() {
        DeviceRule::from_spec(d, &format!("{R}.devices[{i}]"))?;
    }
    Ok(())
}

fn limit(field: &str, v: Option<i64>) -> Result<(), CgroupError> {
    match v {
        Some(v) if v < -1 => Err(bad(
            format!("{R}.memory.{field}"),
            format!("{v} is negative (only -1, unlimited, is allowed)"),
        )),
        _ => Ok(()),
    }
}

fn memory(m: &LinuxMemory) -> Result<(), CgroupError> {
    limit("limit", m.limit())?;
    limit("reservation", m.reservation())?;
    limit("swap", m.swap())?;
    if let (Some(l), Some(s)) = (m.limit(), m.swap()) {
        if l > 0 && s > 0 && s < l {
            return Err(bad(
                format!("{R}.memory.swap"),
                format!("{s} (memory+swap) is below memory.limit {l}"),
            ));
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(bad(
                format!("{R}.memory.swappiness"),
                format!("{s} is above 100"),
            ));
        }
    }
    Ok(())
}

fn cpu(c: &LinuxCpu) -> Result<(), CgroupError> {
    let f = |n: &str| format!("{R}.cpu.{n}");
    if let Some(s) = c.shares() {
        if s != 0 && !(2..=262_144).contains(&s) {
            return Err(bad(f("shares"), format!("{s} is outside 2..262144")));
        }
    }
    if let Some(q) = c.quota() {
        if q < -1 || (q != 0 && (0..1000).contains(&q)) {
            return Err(bad(
                f("quota"),
                format!("{q} is neither -1 nor at least 1000 µs"),
            ));
        }
    }
    if let Some(p) = c.period() {
        if p != 0 && !(1000..=1_000_000).contains(&p) {
            return Err(bad(f("period"), format!("{p} is outside 1000..1000000 µs")));
        }
    }
    if let (Some(b), Some(q)) = (c.burst(), c.quota()) {
        if q > 0 && b > q as u64 {
            return Err(bad(f("burst"), format!("{b} is above the quota {q}")));
        }
    }
    if let Some(r) = c.realtime_runtime() {
        if r < -1 {
            return Err(bad(f("realtimeRuntime"), format!("{r} is negative")));
        }
    }
    if let Some(i) = c.idle() {
        if !(0..=1).contains(&i) {
            return Err(bad(f("idle"), format!("{i} is neither 0 nor 1")));
        }
    }
    for (name, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
        if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
            if !is_cpu_list(list) {
                return Err(bad(f(name), format!("{list:?} is not a list like 0-3,7")));
            }
        }
    }
    Ok(())
}

fn weight(field: String, w: Option<u16>) -> Result<(), CgroupError> {
    match w {
        Some(w) if w != 0 && !(10..=1000).contains(&w) => {
            Err(bad(field, format!("{w} is outside 10..1000")))
        }
        _ => Ok(()),
    }
}

fn block_io(b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let f = |n: &str| format!("{R}.blockIO.{n}");
    weight(f("weight"), b.weight())?;
    weight(f("leafWeight"), b.leaf_weight())?;
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        weight(f(&format!("weightDevice[{i}].weight")), d.weight())?;
        weight(f(&format!("weightDevice[{i}].leafWeight")), d.leaf_weight())?;
        device_number(f(&format!("weightDevice[{i}]")), d.major(), d.minor())?;
    }
    let throttles = [
        ("throttleReadBpsDevice", b.throttle_read_bps_device()),
        ("throttleWriteBpsDevice", b.throttle_write_bps_device()),
        ("throttleReadIOPSDevice", b.throttle_read_iops_device()),
        ("throttleWriteIOPSDevice", b.throttle_write_iops_device()),
    ];
    for (name, list) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            device_number(f(&format!("{name}[{i}]")), d.major(), d.minor())?;
        }
    }
    Ok(())
}

fn device_number(field: String, major: i64, minor: i64) -> Result<(), CgroupError> {
    if major < 0 || minor < 0 || major > 0xfff || minor > 0xfffff {
        return Err(bad(
            field,
            format!("{major}:{minor} is not a device number"),
        ));
    }
    Ok(())
}

fn unified(key: &str, value: &str) -> Result<(), CgroupError> {
    let field = format!("{R}.unified.{key}");
    let well_formed = key.split_once('.').is_some_and(|(c, rest)| {
        !c.is_empty()
            && !rest.is_empty()
            && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            && !rest.contains("..")
    });
    if !well_formed {
        return Err(bad(field, "not a cgroup file name like memory.high"));
    }
    if RESERVED_UNIFIED.contains(&key) {
        return Err(bad(field, "managed by skiff; it may not be set"));
    }
    if value.contains('\n') {
        return Err(bad(field, "the value holds a newline"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
