use super::*;

pub(crate) fn res(json: &str) -> LinuxResources {
    match serde_json::from_str(json) {
        Ok(r) => r,
        Err(e) => panic!("test resources {json}: {e}"),
    }
}

fn field_of(json: &str) -> String {
    match resources(&res(json)) {
        Ok(()) => String::from("<accepted>"),
        Err(CgroupError::Invalid { field, .. }) => field,
        Err(e) => format!("<other: {e}>"),
    }
}

#[test]
fn good_resources_pass() {
    let r = res(r#"{
        "memory": {"limit": 104857600, "reservation": -1, "swap": 209715200, "swappiness": 10},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10000, "cpus": "0-1", "mems": "0", "idle": 0},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "unified": {"memory.high": "max", "io.weight": "default 100"},
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
    }"#);
    assert!(resources(&r).is_ok());
}

#[test]
fn bad_values_name_their_field() {
    let cases = [
        (
            r#"{"memory": {"limit": -2}}"#,
            "linux.resources.memory.limit",
        ),
        (
            r#"{"memory": {"limit": 200, "swap": 100}}"#,
            "linux.resources.memory.swap",
        ),
        (
            r#"{"memory": {"swappiness": 101}}"#,
            "linux.resources.memory.swappiness",
        ),
        (r#"{"cpu": {"shares": 1}}"#, "linux.resources.cpu.shares"),
        (
            r#"{"cpu": {"shares": 300000}}"#,
            "linux.resources.cpu.shares",
        ),
        (r#"{"cpu": {"quota": 10}}"#, "linux.resources.cpu.quota"),
        (r#"{"cpu": {"quota": -5}}"#, "linux.resources.cpu.quota"),
        (r#"{"cpu": {"period": 5}}"#, "linux.resources.cpu.period"),
        (
            r#"{"cpu": {"quota": 1000, "burst": 2000}}"#,
            "linux.resources.cpu.burst",
        ),
        (r#"{"cpu": {"idle": 2}}"#, "linux.resources.cpu.idle"),
        (r#"{"cpu": {"cpus": "3-1"}}"#, "linux.resources.cpu.cpus"),
        (r#"{"cpu": {"mems": "x"}}"#, "linux.resources.cpu.mems"),
        (
            r#"{"pids": {"limit": 99999999}}"#,
            "linux.resources.pids.limit",
        ),
        (
            r#"{"blockIO": {"weight": 5}}"#,
            "linux.resources.blockIO.weight",
        ),
        (
            r#"{"blockIO": {"leafWeight": 1001}}"#,
            "linux.resources.blockIO.leafWeight",
        ),
        (
            r#"{"blockIO": {"throttleWriteIOPSDevice": [{"major": -1, "minor": 0, "rate": 1}]}}"#,
            "linux.resources.blockIO.throttleWriteIOPSDevice[0]",
        ),
        (
            r#"{"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}"#,
            "linux.resources.hugepageLimits[0].pageSize",
        ),
        (
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}"#,
            "linux.resources.hugepageLimits[0].limit",
        ),
        (
            r#"{"network": {"priorities": [{"name": "", "priority": 1}]}}"#,
            "linux.resources.network.priorities[0].name",
        ),
        (
            r#"{"unified": {"nonsense": "1"}}"#,
            "linux.resources.unified.nonsense",
        ),
        (
            r#"{"unified": {"memory./../x": "1"}}"#,
            "linux.resources.unified.memory./../x",
        ),
        (
            r#"{"unified": {"cgroup.procs": "1"}}"#,
            "linux.resources.unified.cgroup.procs",
        ),
        (
            r#"{"unified": {"memory.high": "1\n2"}}"#,
            "linux.resources.unified.memory.high",
        ),
        (
            r#"{"devices": [{"allow": true, "access": "rx"}]}"#,
            "linux.resources.devices[0].access",
        ),
        (
            r#"{"devices": [{"allow": true, "type": "p"}]}"#,
            "linux.resources.devices[0].type",
        ),
        (
            r#"{"devices": [{"allow": true, "major": -7}]}"#,
            "linux.resources.devices[0].major",
        ),
    ];
    for (json, field) in cases {
        assert_eq!(field_of(json), field, "{json}");
    }
}
