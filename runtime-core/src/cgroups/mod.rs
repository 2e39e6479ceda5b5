//! The cgroup manager: a container's cgroups from `linux.cgroupsPath` and
//! `linux.resources`, on cgroupfs v1, v2 or hybrid hosts (detected).
//!
//! The seam the launch uses: [`place`] makes the cgroups and moves the init
//! process I into them right after it starts, before it clones the container
//! process, so no container code runs outside them; [`join`] moves an exec's
//! init into the container's cgroups; [`destroy`] removes them on delete.
//! Every resource value is checked (`validate`) before anything is made, and
//! a failure after that removes what was made.
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
mod path;
mod stats;
mod v1;
mod v2;
mod validate;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxResources, Spec};

pub use error::CgroupError;
pub use manager::CgroupPaths;
// Exported from lib.rs once wired (see the cgroup report).
#[allow(unused_imports)]
pub use stats::{CpuStats, HugetlbStats, IoEntry, MemoryStats, PidsStats, Stats};

use hierarchy::Hierarchy;
use manager::{CgroupManager, Driver};

use crate::Error;

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

/// Check the spec, make the cgroups, apply the resources, add `pid`; on any
/// failure remove what was made.
fn set_up(mut driver: Driver, spec: &Spec, pid: Pid) -> Result<CgroupPaths, CgroupError> {
    let res = resources(spec);
    validate::resources(&res)?;
    let rules = devices::rules(spec)?;
    driver.create()?;
    let result = driver.apply(&res, &rules).and_then(|()| driver.add(pid));
    if let Err(e) = result {
        let _ = driver.destroy();
        return Err(e);
    }
    Ok(driver.paths())
}

/// Make the cgroups of container `id` and place its init process `init` in
/// them; returns where they are, to be recorded in the container's state.
pub(crate) fn create(spec: &Spec, id: &str, init: Pid) -> Result<CgroupPaths, CgroupError> {
    let h = Hierarchy::detect()?;
    set_up(driver_for(spec, id, &h)?, spec, init)
}

/// The launch seam for `create` (without the id: a spec with no
/// cgroupsPath is left in the caller's cgroup until the caller passes the
/// id; see [`create`]).
pub(crate) fn place(spec: &Spec, init: Pid) -> Result<(), Error> {
    let has_path = spec.linux().as_ref().is_some_and(|l| {
        l.cgroups_path()
            .as_ref()
            .is_some_and(|p| !p.as_os_str().is_empty())
    });
    if has_path {
        create(spec, "", init)?;
    }
    Ok(())
}

/// Put the init process of an exec into the cgroups of the container
/// process `container` (read from /proc, so the record is not needed).
pub(crate) fn join(_spec: &Spec, container: i32, init: Pid) -> Result<(), Error> {
    let paths = paths_of(container)?;
    Driver::from_paths(&paths).add(init)?;
    Ok(())
}

/// Remove the cgroups of container `id`, recomputed from its spec (only the
/// container's own directories: parents it made are in [`CgroupPaths`]).
pub(crate) fn destroy(spec: &Spec, id: &str) {
    let Ok(h) = Hierarchy::detect() else { return };
    if let Ok(driver) = driver_for(spec, id, &h) {
        let _ = driver.destroy();
    }
}

/// Remove recorded cgroups, with the parents skiff made for them.
// Used once container/kill.rs and processes.rs are wired (see the report).
#[allow(dead_code)]
pub(crate) fn destroy_paths(paths: &CgroupPaths) -> Result<(), CgroupError> {
    Driver::from_paths(paths).destroy()
}

/// The cgroups process `pid` is in, from /proc/PID/cgroup.
pub(crate) fn paths_of(pid: i32) -> Result<CgroupPaths, CgroupError> {
    let h = Hierarchy::detect()?;
    let file = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&file).map_err(|source| CgroupError::Io {
        op: "read",
        path: file.into(),
        source,
    })?;
    let mut paths = CgroupPaths::default();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(p)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let rel = p.trim_start_matches('/');
        if ctrls.is_empty() {
            paths.unified = h.unified.as_ref().map(|u| u.join(rel));
        }
        for c in ctrls.split(',') {
            if let Some(root) = h.v1_root.get(c) {
                paths.v1.insert(c.to_owned(), root.join(rel));
            }
        }
    }
    if !paths.v1.is_empty()
        && paths
            .unified
            .as_ref()
            .is_some_and(|u| Some(u) == h.unified.as_ref())
    {
        // A hybrid host whose unified tree the process was never put in.
        paths.unified = None;
    }
    Ok(paths)
}

/// Freeze or thaw every process in the cgroups.
pub(crate) fn set_frozen(paths: &CgroupPaths, frozen: bool) -> Result<(), CgroupError> {
    Driver::from_paths(paths).set_frozen(frozen)
}

/// Whether the cgroups of the process `pid` are frozen (false if unknown).
pub(crate) fn pid_is_frozen(pid: i32) -> bool {
    paths_of(pid).is_ok_and(|p| Driver::from_paths(&p).is_frozen().unwrap_or(false))
}

/// Resource usage.
pub(crate) fn stats(paths: &CgroupPaths) -> Result<Stats, CgroupError> {
    Driver::from_paths(paths).stats()
}

/// Every process in the cgroups.
// Used once container/kill.rs and processes.rs are wired (see the report).
#[allow(dead_code)]
pub(crate) fn pids(paths: &CgroupPaths) -> Result<Vec<i32>, CgroupError> {
    Driver::from_paths(paths).pids()
}

/// Signal every process in the cgroups (cgroup.kill for SIGKILL on v2).
// Used once container/kill.rs and processes.rs are wired (see the report).
#[allow(dead_code)]
pub(crate) fn kill_all(paths: &CgroupPaths, signal: Signal) -> Result<(), CgroupError> {
    Driver::from_paths(paths).kill_all(signal)
}
