use super::*;
use crate::cgroups::testutil::{files, read, res};

const FILES: &[&str] = &[
    "cgroup.procs",
    "cgroup.freeze",
    "cgroup.events",
    "cgroup.kill",
    "memory.max",
    "memory.low",
    "memory.swap.max",
    "memory.current",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "rdma.max",
    "memory.high",
];

fn tree() -> (tempfile::TempDir, V2) {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let dir = tmp.path().join("ctr");
    files(&dir, FILES);
    let mut v2 = V2::new(dir, None);
    v2.bpf = false;
    (tmp, v2)
}

#[test]
fn every_resource_lands_in_its_v2_file() {
    let (_tmp, v2) = tree();
    let r = res(r#"{
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "0-1", "mems": "0", "idle": 1},
        "pids": {"limit": 32},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 4}},
        "unified": {"memory.high": "90000000"}
    }"#);
    if let Err(e) = v2.apply(&r, Some(&[])) {
        panic!("apply: {e}");
    }
    let expect = [
        ("memory.max", "104857600"),
        ("memory.low", "52428800"),
        ("memory.swap.max", "104857600"),
        ("cpu.weight", "39"),
        ("cpu.max", "50000 100000"),
        ("cpu.max.burst", "1000"),
        ("cpu.idle", "1"),
        ("cpuset.cpus", "0-1"),
        ("cpuset.mems", "0"),
        ("pids.max", "32"),
        ("io.weight", "default 4950"),
        ("io.max", "8:0 rbps=1048576"),
        ("hugetlb.2MB.max", "4194304"),
        ("rdma.max", "mlx5_1 hca_handle=3 hca_object=4"),
        ("memory.high", "90000000"),
    ];
    for (file, want) in expect {
        assert_eq!(read(&v2.dir, file), want, "{file}");
    }
}

#[test]
fn unlimited_values_become_max() {
    let (_tmp, v2) = tree();
    let r = res(
        r#"{"memory": {"limit": -1, "swap": -1}, "cpu": {"quota": -1, "period": 50000}, "pids": {"limit": -1}}"#,
    );
    assert!(v2.apply(&r, Some(&[])).is_ok());
    assert_eq!(read(&v2.dir, "memory.max"), "max");
    assert_eq!(read(&v2.dir, "memory.swap.max"), "max");
    assert_eq!(read(&v2.dir, "cpu.max"), "max 50000");
    assert_eq!(read(&v2.dir, "pids.max"), "max");
}

#[test]
fn v2_refusals_name_the_field() {
    let (_tmp, v2) = tree();
    let cases = [
        (
            r#"{"unified": {"memory.nonexistent": "1"}}"#,
            "linux.resources.unified.memory.nonexistent",
        ),
        (
            r#"{"memory": {"swappiness": 10}}"#,
            "linux.resources.memory.swappiness",
        ),
        (
            r#"{"cpu": {"realtimeRuntime": 100}}"#,
            "linux.resources.cpu.realtimeRuntime",
        ),
        (
            r#"{"network": {"classID": 1}}"#,
            "linux.resources.network.classID",
        ),
        (
            r#"{"hugepageLimits": [{"pageSize": "1GB", "limit": 0}]}"#,
            "linux.resources.hugepageLimits[0]",
        ),
    ];
    for (json, field) in cases {
        let e = v2
            .apply(&res(json), Some(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with(&format!("{field}:")), "{json}: {e}");
    }
}

#[test]
fn freeze_writes_cgroup_freeze_and_waits_for_events() {
    let (_tmp, v2) = tree();
    let _ = std::fs::write(v2.dir.join("cgroup.events"), "populated 1\nfrozen 1\n");
    assert!(v2.set_frozen(true).is_ok());
    assert_eq!(read(&v2.dir, "cgroup.freeze"), "1");
    assert!(v2.is_frozen().unwrap_or(false));
    // A create on a frozen cgroup is refused.
    let mut again = V2::new(v2.dir.clone(), None);
    assert!(matches!(
        again.create(),
        Err(CgroupError::InUse { why: "frozen", .. })
    ));
}

#[test]
fn kill_all_uses_cgroup_kill() {
    let (_tmp, v2) = tree();
    assert!(v2.kill_all(Signal::SIGKILL).is_ok());
    assert_eq!(read(&v2.dir, "cgroup.kill"), "1");
}

#[test]
fn controllers_are_enabled_down_the_path() {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let root = tmp.path().to_owned();
    let _ = std::fs::write(root.join("cgroup.controllers"), "cpu memory hugetlb\n");
    let _ = std::fs::write(root.join("cgroup.subtree_control"), "cpu\n");
    let mut v2 = V2::new(root.join("a/ctr"), Some(root.clone())).only(vec!["hugetlb".into()]);
    assert!(v2.create().is_ok());
    assert_eq!(read(&root, "cgroup.subtree_control"), "+hugetlb");
    assert_eq!(v2.created, vec![root.join("a"), root.join("a/ctr")]);
    assert!(v2.destroy().is_ok());
    assert!(!root.join("a").exists());
}
