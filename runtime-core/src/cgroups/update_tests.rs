//! `update` on a test tree: only what changes is written, cpu quota and
//! period go together on v2, and bad values are refused before any write.

use std::collections::BTreeMap;

use super::testutil::{files, read, res};
use super::*;

fn v2_tree() -> (tempfile::TempDir, CgroupPaths) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cg = dir.path().join("ctr");
    files(
        &cg,
        &[
            "memory.max",
            "memory.swap.max",
            "cpu.max",
            "cpu.weight",
            "pids.max",
        ],
    );
    let paths = CgroupPaths {
        v1: BTreeMap::new(),
        unified: Some(cg),
        created: Vec::new(),
    };
    (dir, paths)
}

#[test]
fn only_the_delta_is_written_and_quota_keeps_its_period() {
    let (_d, paths) = v2_tree();
    let cg = paths.unified.clone().unwrap_or_default();
    let current = res(r#"{"cpu": {"quota": 20000, "period": 50000}, "pids": {"limit": 10}}"#);
    let delta = res(r#"{"cpu": {"quota": 30000}}"#);
    let merged = update(&paths, &current, &delta);
    let merged = merged.unwrap_or_else(|e| panic!("update: {e}"));
    assert_eq!(read(&cg, "cpu.max"), "30000 50000");
    assert_eq!(read(&cg, "pids.max"), "", "pids untouched");
    assert_eq!(read(&cg, "memory.max"), "", "memory untouched");
    let cpu = merged.cpu().clone().unwrap_or_default();
    assert_eq!((cpu.quota(), cpu.period()), (Some(30000), Some(50000)));
    assert_eq!(merged.pids().as_ref().map(|p| p.limit()), Some(10));
}

#[test]
fn bad_values_are_refused_before_any_write() {
    let (_d, paths) = v2_tree();
    let cg = paths.unified.clone().unwrap_or_default();
    let current = res(r#"{"memory": {"limit": 67108864, "swap": 134217728}}"#);
    for (delta, field) in [
        (
            r#"{"memory": {"limit": -5}}"#,
            "linux.resources.memory.limit",
        ),
        (r#"{"cpu": {"shares": 1}}"#, "linux.resources.cpu.shares"),
        // Merged with the recorded swap, the new limit is above memory+swap.
        (
            r#"{"memory": {"limit": 268435456}}"#,
            "linux.resources.memory.swap",
        ),
        (
            r#"{"unified": {"cgroup.procs": "1"}}"#,
            "linux.resources.unified.cgroup.procs",
        ),
    ] {
        let e = update(&paths, &current, &res(delta))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.starts_with(field)),
            "{delta}: {e:?}"
        );
        assert_eq!(read(&cg, "memory.max"), "", "{delta}: nothing written");
    }
    let none = CgroupPaths::default();
    assert!(update(&none, &current, &res("{}")).is_err());
}
