//! The cgroup manager: a container's cgroups from `linux.cgroupsPath` and
//! `linux.resources`, on cgroupfs v1, v2 or hybrid hosts (detected).
//!
//! The seam the launch uses: [`prepare`] makes the cgroups and [`add`] moves
//! the init process I into them right after it starts, before it clones the
//! container process, so no container code runs outside them; the paths are
//! recorded in the container's state ([`CgroupPaths`]), and every later
//! command works on the recorded cgroups: exec [`add`]s its init, `kill
//! --all` signals through [`kill_all`], pause/resume freeze, `update` applies
//! new resources, `delete` [`remove`]s exactly them and the parents skiff
//! made. Every resource value is checked (`validate`) before anything is
//! made, and a failure after that removes what was made.
//!
//! Layout: `manager` (the trait and the closed enum of drivers), `v1`, `v2`
//! (cgroupfs drivers), `hierarchy` (host detection; injectable for tests),
//! `path` (cgroupsPath rules), `validate`, `convert` (v1→v2 units),
//! `devices` + `bpf` (device rules; the v2 eBPF filter), `stats`, `fs`.

mod bpf;
mod convert;
mod devices;
mod error;
mod fs;
mod hierarchy;
mod manager;
mod oom;
mod path;
mod stats;
mod v1;
mod v2;
mod validate;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod update_tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxResources, Spec};

pub use error::CgroupError;
pub use manager::CgroupPaths;
pub use oom::{OomWait, OomWatcher};
pub use stats::{CgroupVersion, CpuStats, HugetlbStats, IoEntry, MemoryStats, PidsStats, Stats};

use hierarchy::Hierarchy;
use manager::{CgroupManager, Driver};

fn resources(spec: &Spec) -> LinuxResources {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default()
}

/// The driver for a new container on the layout `h` (nothing made yet).
fn driver_for(spec: &Spec, id: &str, h: &Hierarchy) -> Result<Driver, CgroupError> {
    let cgroups_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    let path = path::parse(cgroups_path.as_deref(), id)?;
    let v1_dirs: BTreeMap<String, PathBuf> = h
        .v1_own
        .keys()
        .filter_map(|c| Some((c.clone(), path.v1_dir(h, c)?)))
        .collect();
    let v2 = path.v2_dir(h).map(|d| v2::V2::new(d, h.unified.clone()));
    Ok(match (v1_dirs.is_empty(), v2) {
        (true, Some(v2)) => Driver::V2(v2),
        (false, Some(v2)) => {
            // On a hybrid host the unified tree only serves what v1 lacks.
            let res = resources(spec);
            let hugetlb = !v1_dirs.contains_key("hugetlb")
                && res
                    .hugepage_limits()
                    .as_ref()
                    .is_some_and(|l| !l.is_empty());
            let only = if hugetlb {
                vec!["hugetlb".to_owned()]
            } else {
                Vec::new()
            };
            Driver::Hybrid(v1::V1::new(v1_dirs), v2.only(only))
        }
        (false, None) => Driver::V1(v1::V1::new(v1_dirs)),
        (true, None) => return Err(CgroupError::NotMounted),
    })
}

/// Check the spec, make the cgroups and apply the resources (and the device
/// rules, unless `rootless`: an unprivileged writer may not set them, and
/// runc ignores them there too); on any failure remove what was made.
fn make(mut driver: Driver, spec: &Spec, rootless: bool) -> Result<CgroupPaths, CgroupError> {
    let res = resources(spec);
    validate::resources(&res)?;
    let rules = devices::rules(spec)?;
    driver.create()?;
    let rules = (!rootless).then_some(rules.as_slice());
    if let Err(e) = driver.apply(&res, rules) {
        let _ = driver.destroy();
        return Err(e);
    }
    Ok(driver.paths())
}

/// [`make`], then add `pid` (the kernel tests' shortcut).
#[cfg(test)]
fn set_up(driver: Driver, spec: &Spec, pid: Pid) -> Result<CgroupPaths, CgroupError> {
    let paths = make(driver, spec, false)?;
    if let Err(e) = Driver::from_paths(&paths).add(pid) {
        let _ = remove(&paths);
        return Err(e);
    }
    Ok(paths)
}

/// Make the cgroups of container `id` from its spec (`linux.cgroupsPath`,
/// by default the id relative to the caller's cgroup, as runc's cgroupfs
/// driver) and apply `linux.resources`; returns where they are, to be
/// recorded in the container's state. Nothing is left on failure.
///
/// `rootless` (runc's rootless cgroup manager): a cgroup the caller may not
/// make is skipped (empty paths: the container runs in the caller's cgroups)
/// when the spec asks for no resource limits and names no cgroupsPath; when
/// it does, the refusal is an error naming the field and the path.
pub(crate) fn prepare(spec: &Spec, id: &str, rootless: bool) -> Result<CgroupPaths, CgroupError> {
    let h = Hierarchy::detect()?;
    let made = make(driver_for(spec, id, &h)?, spec, rootless);
    if !rootless {
        return made;
    }
    match made {
        Ok(paths) => Ok(paths),
        Err(e) => match e.into_denied() {
            Ok((path, source)) => match needs_cgroup(spec) {
                Some(field) => Err(CgroupError::RootlessDenied {
                    field,
                    path,
                    source,
                }),
                None => Ok(CgroupPaths::default()),
            },
            Err(e) => Err(e),
        },
    }
}

/// The first spec field that needs the container's own cgroup: a resource
/// limit (`linux.resources.*` but the device rules) or `linux.cgroupsPath`.
fn needs_cgroup(spec: &Spec) -> Option<String> {
    let res = serde_json::to_value(resources(spec)).unwrap_or_default();
    let limit = res.as_object().into_iter().flatten().find(|(key, value)| {
        let empty = match value {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.values().all(serde_json::Value::is_null),
            _ => false,
        };
        key.as_str() != "devices" && !empty
    });
    if let Some((key, _)) = limit {
        return Some(format!("linux.resources.{key}"));
    }
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|_| "linux.cgroupsPath".to_owned())
}

/// Move `pid` into the recorded cgroups (a container's init, or an exec's).
pub(crate) fn add(paths: &CgroupPaths, pid: Pid) -> Result<(), CgroupError> {
    if paths.is_empty() {
        return Ok(());
    }
    Driver::from_paths(paths).add(pid)
}

/// Change the resources of existing cgroups (`update`): `delta` holds what
/// changes, `current` what was applied before; both merged are checked
/// first, then only `delta` is written (with the other half of a cpu
/// quota/period pair, which cgroup v2 writes together). The device rules are
/// left alone. Returns the merged resources, to be recorded.
pub(crate) fn update(
    paths: &CgroupPaths,
    current: &LinuxResources,
    delta: &LinuxResources,
) -> Result<LinuxResources, CgroupError> {
    if paths.is_empty() {
        return Err(CgroupError::invalid(
            "linux.resources",
            "the container has no cgroups to update",
        ));
    }
    let encode = |r: &LinuxResources| {
        serde_json::to_value(r).map_err(|e| CgroupError::invalid("linux.resources", e.to_string()))
    };
    let (mut merged, mut delta_v) = (encode(current)?, encode(delta)?);
    merge_json(&mut merged, &delta_v);
    if let (Some(d), Some(m)) = (delta_v.get_mut("cpu"), merged.get("cpu")) {
        for key in ["quota", "period"] {
            if d.get(key).is_none() {
                if let (Some(v), Some(obj)) = (m.get(key), d.as_object_mut()) {
                    obj.insert(key.to_owned(), v.clone());
                }
            }
        }
    }
    let decode = |v: serde_json::Value| {
        serde_json::from_value::<LinuxResources>(v)
            .map_err(|e| CgroupError::invalid("linux.resources", e.to_string()))
    };
    let (merged, delta) = (decode(merged)?, decode(delta_v)?);
    validate::resources(&merged)?;
    validate::resources(&delta)?;
    Driver::from_paths(paths).apply(&delta, None)?;
    Ok(merged)
}

/// Overlay `top` on `base`: objects merge key by key, anything else replaces.
fn merge_json(base: &mut serde_json::Value, top: &serde_json::Value) {
    match (base, top) {
        (serde_json::Value::Object(b), serde_json::Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, t) => *b = t.clone(),
    }
}

/// Remove recorded cgroups, with the parents skiff made for them. Processes
/// still in them are killed first (thawed if frozen, so that SIGKILL lands),
/// and those that are this process's children are reaped.
pub(crate) fn remove(paths: &CgroupPaths) -> Result<(), CgroupError> {
    if paths.is_empty() {
        return Ok(());
    }
    let driver = Driver::from_paths(paths);
    let left = driver.pids().unwrap_or_default();
    if !left.is_empty() {
        kill_all(paths, Signal::SIGKILL)?;
        for pid in left {
            let _ = nix::sys::wait::waitpid(
                Pid::from_raw(pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }
    driver.destroy()
}

/// Freeze or thaw every process in the cgroups.
pub(crate) fn set_frozen(paths: &CgroupPaths, frozen: bool) -> Result<(), CgroupError> {
    Driver::from_paths(paths).set_frozen(frozen)
}

/// Whether the cgroups are frozen (false when unknown or absent).
pub(crate) fn is_frozen(paths: &CgroupPaths) -> bool {
    !paths.is_empty() && Driver::from_paths(paths).is_frozen().unwrap_or(false)
}

/// A watcher for OOM events of the memory cgroup (`None` without one).
pub(crate) fn watch_oom(paths: &CgroupPaths) -> Result<Option<OomWatcher>, CgroupError> {
    OomWatcher::new(paths)
}

/// Resource usage.
pub(crate) fn stats(paths: &CgroupPaths) -> Result<Stats, CgroupError> {
    Driver::from_paths(paths).stats()
}

/// Every process in the cgroups, sorted.
pub(crate) fn pids(paths: &CgroupPaths) -> Result<Vec<i32>, CgroupError> {
    Driver::from_paths(paths).pids()
}

/// Signal every process in the cgroups: v2 writes cgroup.kill for SIGKILL,
/// v1 freezes, signals each process and thaws, as runc does. A frozen
/// (paused) container stays frozen, except for SIGKILL: it is thawed so that
/// the signal is delivered.
pub(crate) fn kill_all(paths: &CgroupPaths, signal: Signal) -> Result<(), CgroupError> {
    let driver = Driver::from_paths(paths);
    driver.kill_all(signal)?;
    if signal == Signal::SIGKILL && driver.is_frozen().unwrap_or(false) {
        driver.set_frozen(false)?;
    }
    Ok(())
}
