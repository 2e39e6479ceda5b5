use std::collections::BTreeMap;

use super::*;
use crate::cgroups::devices::DEFAULT_ALLOW;
use crate::cgroups::testutil::{files, read, res};

const FILES: &[(&str, &[&str])] = &[
    (
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "memory.use_hierarchy",
            "memory.usage_in_bytes",
        ],
    ),
    (
        "cpu",
        &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ],
    ),
    ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
    ("pids", &["pids.max"]),
    (
        "blkio",
        &[
            "blkio.weight",
            "blkio.leaf_weight",
            "blkio.weight_device",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_iops_device",
        ],
    ),
    ("hugetlb", &["hugetlb.2MB.limit_in_bytes"]),
    ("net_cls", &["net_cls.classid"]),
    ("net_prio", &["net_prio.ifpriomap"]),
    ("rdma", &["rdma.max"]),
    ("devices", &["devices.allow", "devices.deny"]),
    ("freezer", &["freezer.state", "cgroup.procs"]),
];

fn tree() -> (tempfile::TempDir, V1) {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let mut dirs = BTreeMap::new();
    for (c, fs) in FILES {
        let dir = tmp.path().join(c).join("ctr");
        files(&dir, fs);
        dirs.insert((*c).to_owned(), dir);
    }
    let _ = std::fs::write(
        dirs["memory"].join("memory.limit_in_bytes"),
        "9223372036854771712\n",
    );
    (tmp, V1::new(dirs))
}

#[test]
fn every_resource_lands_in_its_v1_file() {
    let (_tmp, v1) = tree();
    let r = res(r#"{
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200, "swappiness": 10,
                   "disableOOMKiller": true, "useHierarchy": true},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                "realtimeRuntime": 950, "realtimePeriod": 1000, "cpus": "0-1", "mems": "0", "idle": 1},
        "pids": {"limit": 32},
        "blockIO": {"weight": 300, "leafWeight": 200, "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
        "rdma": {"mlx5_1": {"hcaHandles": 3}}
    }"#);
    let rules = [DEFAULT_ALLOW[2]];
    if let Err(e) = v1.apply(&r, Some(&rules), false) {
        panic!("apply: {e}");
    }
    let d = |c: &str| v1.dirs[c].clone();
    let expect = [
        ("memory", "memory.limit_in_bytes", "104857600"),
        ("memory", "memory.memsw.limit_in_bytes", "209715200"),
        ("memory", "memory.soft_limit_in_bytes", "52428800"),
        ("memory", "memory.swappiness", "10"),
        ("memory", "memory.oom_control", "1"),
        ("memory", "memory.use_hierarchy", "1"),
        ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_burst_us", "1000"),
        ("cpu", "cpu.rt_runtime_us", "950"),
        ("cpu", "cpu.rt_period_us", "1000"),
        ("cpu", "cpu.idle", "1"),
        ("cpuset", "cpuset.cpus", "0-1"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "32"),
        ("blkio", "blkio.weight", "300"),
        ("blkio", "blkio.leaf_weight", "200"),
        ("blkio", "blkio.weight_device", "8:0 100"),
        ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio", "blkio.throttle.write_iops_device", "8:16 100"),
        ("hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304"),
        ("net_cls", "net_cls.classid", "1048577"),
        ("net_prio", "net_prio.ifpriomap", "eth0 5"),
        ("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=max"),
        ("devices", "devices.deny", "a"),
        ("devices", "devices.allow", "c 1:3 rwm"),
    ];
    for (c, file, want) in expect {
        assert_eq!(read(&d(c), file), want, "{file}");
    }
}

#[test]
fn pids_unlimited_and_memory_unlimited() {
    let (_tmp, v1) = tree();
    let r = res(r#"{"pids": {"limit": -1}, "memory": {"limit": -1}}"#);
    assert!(v1.apply(&r, Some(&[]), false).is_ok());
    assert_eq!(read(&v1.dirs["pids"], "pids.max"), "max");
    assert_eq!(read(&v1.dirs["memory"], "memory.limit_in_bytes"), "-1");
    assert_eq!(
        read(&v1.dirs["memory"], "memory.memsw.limit_in_bytes"),
        "-1"
    );
}

#[test]
fn missing_controller_or_file_names_the_field() {
    let (_tmp, mut v1) = tree();
    v1.dirs.remove("pids");
    let e = v1
        .apply(&res(r#"{"pids": {"limit": 3}}"#), Some(&[]), false)
        .err();
    assert!(
        matches!(&e, Some(CgroupError::NoController { field, controller }) if field == "linux.resources.pids.limit" && controller == "pids"),
        "{e:?}"
    );
    let _ = std::fs::remove_file(v1.dirs["cpu"].join("cpu.cfs_burst_us"));
    let e = v1
        .apply(&res(r#"{"cpu": {"burst": 5}}"#), Some(&[]), false)
        .err();
    assert!(
        matches!(&e, Some(CgroupError::NoFile { field, .. }) if field == "linux.resources.cpu.burst"),
        "{e:?}"
    );
    let e = v1
        .apply(
            &res(r#"{"unified": {"memory.high": "1"}}"#),
            Some(&[]),
            false,
        )
        .err();
    assert!(e.is_some_and(|e| e.to_string().starts_with("linux.resources.unified:")));
}

#[test]
fn check_before_update_refuses_a_limit_below_usage() {
    let (_tmp, v1) = tree();
    let _ = std::fs::write(v1.dirs["memory"].join("memory.usage_in_bytes"), "2000000\n");
    let r = res(r#"{"memory": {"limit": 1000000, "checkBeforeUpdate": true}}"#);
    let e = v1.apply(&r, Some(&[]), false).err();
    assert!(e.is_some_and(|e| e.to_string().starts_with("linux.resources.memory.limit:")));
}

#[test]
fn populated_or_frozen_cgroups_are_not_reused() {
    let (_tmp, mut v1) = tree();
    let freezer = v1.dirs["freezer"].clone();
    v1.dirs.retain(|c, _| c == "freezer");
    let _ = std::fs::write(freezer.join("freezer.state"), "FROZEN\n");
    assert!(matches!(
        v1.create(),
        Err(CgroupError::InUse { why: "frozen", .. })
    ));
    let _ = std::fs::write(freezer.join("cgroup.procs"), "42\n");
    assert!(matches!(
        v1.create(),
        Err(CgroupError::InUse {
            why: "populated",
            ..
        })
    ));
}

#[test]
fn nested_creation_is_undone_exactly() {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let base = tmp.path().join("memory");
    let _ = std::fs::create_dir(&base);
    let mut dirs = BTreeMap::new();
    dirs.insert("memory".to_owned(), base.join("a/b/c"));
    let mut v1 = V1::new(dirs);
    assert!(v1.create().is_ok());
    assert_eq!(
        v1.created,
        vec![base.join("a"), base.join("a/b"), base.join("a/b/c")]
    );
    assert!(v1.destroy().is_ok());
    assert!(base.exists() && !base.join("a").exists());
}

/// A parent another container made but has not filled yet is filled too:
/// the leaf would otherwise copy its empty set, and joining it would fail
/// with ENOSPC (seen with twenty containers created at once).
#[test]
fn cpuset_fills_a_shared_parent_left_empty_by_another_create() {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let root = tmp.path().join("cpuset");
    let (parent, leaf) = (root.join("pod"), root.join("pod/ctr"));
    for dir in [&root, &parent, &leaf] {
        files(dir, &["cpuset.cpus", "cpuset.mems"]);
    }
    let _ = std::fs::write(root.join("cpuset.cpus"), "0-1\n");
    let _ = std::fs::write(root.join("cpuset.mems"), "0\n");
    let mut v1 = V1::new(BTreeMap::from([("cpuset".to_owned(), leaf.clone())]));
    v1.created = vec![leaf.clone()];
    if let Err(e) = v1.init_cpuset() {
        panic!("init_cpuset: {e}");
    }
    for dir in [&parent, &leaf] {
        assert_eq!(read(dir, "cpuset.cpus").trim(), "0-1", "{}", dir.display());
        assert_eq!(read(dir, "cpuset.mems").trim(), "0", "{}", dir.display());
    }
}
