//! One test per validation rule: each names the field at fault.

use serde_json::{json, Value};

use super::*;

/// A bundle with a rootfs, and runc's default spec as JSON to bend.
fn bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("rootfs")).expect("rootfs");
    dir
}

fn base() -> Value {
    serde_json::to_value(crate::spec::default_spec()).expect("default spec")
}

/// Validate `spec` and return the field of the error (None: accepted).
fn field_of(spec: Value) -> Option<String> {
    let dir = bundle();
    let spec: Spec = serde_json::from_value(spec).expect("a spec");
    match validate(&spec, dir.path()) {
        Ok(rootfs) => {
            assert_eq!(
                rootfs,
                dir.path().join("rootfs").canonicalize().expect("canonical")
            );
            None
        }
        Err(SpecError::Invalid { field, message }) => {
            assert!(!message.is_empty());
            Some(field)
        }
        Err(other) => Some(format!("(not Invalid) {other}")),
    }
}

fn with(f: impl FnOnce(&mut Value)) -> Option<String> {
    let mut spec = base();
    f(&mut spec);
    field_of(spec)
}

/// A change to a spec, for table-driven tests.
type Edit = Box<dyn FnOnce(&mut Value)>;

fn namespaces(spec: &mut Value, list: Value) {
    spec["linux"]["namespaces"] = list;
}

#[test]
fn the_default_spec_is_valid() {
    assert_eq!(field_of(base()), None);
}

#[test]
fn oci_version_is_required() {
    assert_eq!(
        with(|s| s["ociVersion"] = json!("")).as_deref(),
        Some("ociVersion")
    );
    assert_eq!(
        with(|s| s["ociVersion"] = json!("2.0.0")).as_deref(),
        Some("ociVersion")
    );
}

#[test]
fn rootfs_must_exist() {
    let e = with(|s| s["root"]["path"] = json!("nope")).expect("accepted");
    assert!(e.starts_with("(not Invalid) config: root.path"), "{e}");
}

#[test]
fn process_rules() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|s| {
                s.as_object_mut()
                    .map(|o| o.remove("process"))
                    .map(drop)
                    .unwrap_or(())
            }),
            "process",
        ),
        (
            Box::new(|s| s["process"]["args"] = json!([])),
            "process.args",
        ),
        (
            Box::new(|s| {
                s["process"]
                    .as_object_mut()
                    .map(|o| o.remove("args"))
                    .map(drop)
                    .unwrap_or(())
            }),
            "process.args",
        ),
        (
            Box::new(|s| s["process"]["args"] = json!([""])),
            "process.args[0]",
        ),
        (
            Box::new(|s| s["process"]["cwd"] = json!("relative/dir")),
            "process.cwd",
        ),
        (
            Box::new(|s| s["process"]["env"] = json!(["A=1", "NOEQUALS"])),
            "process.env[1]",
        ),
        (
            Box::new(|s| s["process"]["env"] = json!(["=x"])),
            "process.env[0]",
        ),
        (
            Box::new(|s| {
                s["process"]["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": 2, "hard": 1}])
            }),
            "process.rlimits[0]",
        ),
        (
            Box::new(|s| {
                s["process"]["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": 1, "hard": 1},
                                                 {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}])
            }),
            "process.rlimits[1]",
        ),
        (
            Box::new(|s| s["process"]["oomScoreAdj"] = json!(1001)),
            "process.oomScoreAdj",
        ),
        (
            Box::new(|s| s["process"]["oomScoreAdj"] = json!(-1001)),
            "process.oomScoreAdj",
        ),
        (
            Box::new(|s| s["process"]["apparmorProfile"] = json!("docker-default")),
            "process.apparmorProfile",
        ),
        (
            Box::new(|s| s["process"]["selinuxLabel"] = json!("system_u:system_r:container_t")),
            "process.selinuxLabel",
        ),
    ];
    for (edit, field) in cases {
        assert_eq!(with(edit).as_deref(), Some(field));
    }
    for ok in [-1000, 0, 1000] {
        assert_eq!(with(|s| s["process"]["oomScoreAdj"] = json!(ok)), None);
    }
}

#[test]
fn unknown_capabilities_name_the_set() {
    let text = serde_json::to_vec(&{
        let mut s = base();
        s["process"]["capabilities"]["permitted"] = json!(["CAP_KILL", "CAP_FLY"]);
        s
    })
    .expect("json");
    let (field, message) = crate::spec::parse(&text).expect_err("accepted");
    assert!(
        field.starts_with("process.capabilities.permitted"),
        "{field}"
    );
    assert!(message.contains("CAP_FLY"), "{message}");
}

#[test]
fn namespace_rules() {
    let no_mount = json!([{"type": "pid"}, {"type": "uts"}]);
    assert_eq!(
        with(|s| namespaces(s, no_mount)).as_deref(),
        Some("linux.namespaces")
    );
    let twice = json!([{"type": "mount"}, {"type": "uts"}, {"type": "uts"}]);
    assert_eq!(
        with(|s| namespaces(s, twice)).as_deref(),
        Some("linux.namespaces[2].type")
    );
    let user = json!([{"type": "mount"}, {"type": "uts"}, {"type": "user"}]);
    assert_eq!(
        with(|s| namespaces(s, user.clone())).as_deref(),
        Some("linux.uidMappings"),
        "a new user namespace needs mappings"
    );
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    assert_eq!(
        with(|s| {
            namespaces(s, user.clone());
            s["linux"]["uidMappings"] = map.clone();
            s["linux"]["gidMappings"] = map.clone();
        }),
        None
    );
    assert_eq!(
        with(|s| {
            namespaces(s, user.clone());
            s["linux"]["uidMappings"] = map.clone();
            s["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1, "size": 0}]);
        })
        .as_deref(),
        Some("linux.gidMappings[0].size")
    );
    let joined_user =
        json!([{"type": "mount"}, {"type": "uts"}, {"type": "user", "path": "/proc/self/ns/user"}]);
    assert_eq!(
        with(|s| {
            namespaces(s, joined_user.clone());
            s["linux"]["uidMappings"] = map.clone();
        })
        .as_deref(),
        Some("linux.uidMappings")
    );
    assert_eq!(with(|s| namespaces(s, joined_user.clone())), None);
    let missing =
        json!([{"type": "mount"}, {"type": "uts"}, {"type": "ipc", "path": "/proc/self/ns/nope"}]);
    assert_eq!(
        with(|s| namespaces(s, missing)).as_deref(),
        Some("linux.namespaces[2].path")
    );
    let joined =
        json!([{"type": "mount"}, {"type": "uts"}, {"type": "ipc", "path": "/proc/self/ns/ipc"}]);
    assert_eq!(with(|s| namespaces(s, joined)), None);
    let maps = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    assert_eq!(
        with(|s| s["linux"]["uidMappings"] = maps).as_deref(),
        Some("linux.uidMappings")
    );
}

#[test]
fn rootless_spec_validates() {
    let rootless = serde_json::to_value(crate::spec::default_spec_rootless(0, 0)).expect("json");
    assert_eq!(field_of(rootless), None);
}

#[test]
fn idmapped_mounts_are_refused_by_name() {
    let text = br#"{"ociVersion":"1.0.2","mounts":[{"destination":"/a","type":"tmpfs"},
        {"destination":"/d","type":"bind","source":"/s","uidMappings":[{"containerID":0,"hostID":1,"size":1}]}]}"#;
    let (field, message) = crate::spec::parse(text).expect_err("accepted");
    assert_eq!(field, "mounts[1].uidMappings");
    assert!(message.contains("idmapped"), "{message}");
    let text = br#"{"ociVersion":"1.0.2","mounts":[{"destination":"/a","type":"tmpfs",
        "uidMappings":null,"gidMappings":[{"containerID":0,"hostID":1,"size":1}]}]}"#;
    let (field, _) = crate::spec::parse(text).expect_err("accepted");
    assert_eq!(field, "mounts[0].gidMappings");
    let text = br#"{"ociVersion":"1.0.2","mounts":[{"destination":"/a","uidMappings":null}]}"#;
    assert!(crate::spec::parse(text).is_ok());
}

#[test]
fn hostname_and_domainname_need_a_private_uts_namespace() {
    let no_uts = json!([{"type": "mount"}]);
    assert_eq!(
        with(|s| namespaces(s, no_uts.clone())).as_deref(),
        Some("hostname")
    );
    assert_eq!(
        with(|s| {
            namespaces(s, no_uts.clone());
            s.as_object_mut().map(|o| o.remove("hostname"));
            s["domainname"] = json!("example.org");
        })
        .as_deref(),
        Some("domainname")
    );
    assert_eq!(
        with(|s| {
            namespaces(
                s,
                json!([{"type": "mount"}, {"type": "uts", "path": "/proc/self/ns/uts"}]),
            );
        })
        .as_deref(),
        Some("hostname")
    );
    assert_eq!(
        with(|s| {
            namespaces(s, no_uts);
            s.as_object_mut().map(|o| o.remove("hostname"));
        }),
        None
    );
}

#[test]
fn sysctls_must_be_in_the_containers_own_namespaces() {
    let check = |ns: Value, key: &str| {
        with(|s| {
            namespaces(s, ns);
            s.as_object_mut().map(|o| o.remove("hostname"));
            s["linux"]["sysctl"] = json!({ key: "1" });
        })
    };
    let field = |key: &str| Some(format!("linux.sysctl[{key:?}]"));
    let all = json!([{"type": "mount"}, {"type": "ipc"}, {"type": "network"}, {"type": "uts"}]);
    let mount_only = json!([{"type": "mount"}]);
    for key in [
        "kernel.msgmax",
        "kernel/shmmax",
        "kernel.sem",
        "fs.mqueue.msg_max",
        "net.ipv4.ip_forward",
    ] {
        assert_eq!(check(all.clone(), key), None, "{key}");
        assert_eq!(check(mount_only.clone(), key), field(key), "{key}");
    }
    assert_eq!(check(all.clone(), "kernel.domainname"), None);
    assert_eq!(
        check(mount_only.clone(), "kernel.domainname"),
        field("kernel.domainname")
    );
    assert_eq!(
        check(all.clone(), "kernel.hostname"),
        field("kernel.hostname")
    );
    for key in ["vm.swappiness", "kernel.pid_max", "fs.file-max"] {
        assert_eq!(check(all.clone(), key), field(key), "{key}");
    }
    for key in ["", "net..x", "net/../../etc/x"] {
        assert_eq!(check(all.clone(), key), field(key), "{key:?}");
    }
    // A joined network namespace that is the runtime's own is the host's.
    let host_net = json!([{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/net"}]);
    assert_eq!(
        check(host_net, "net.ipv4.ip_forward"),
        field("net.ipv4.ip_forward")
    );
}

#[test]
fn mount_destinations_are_absolute() {
    let field = with(|s| s["mounts"][2]["destination"] = json!("dev/pts"));
    assert_eq!(field.as_deref(), Some("mounts[2].destination"));
}

#[test]
fn hooks_have_absolute_paths_and_positive_timeouts() {
    let hook = |path: &str, timeout: i64| json!({"path": path, "timeout": timeout});
    assert_eq!(
        with(|s| s["hooks"] = json!({"poststart": [hook("/bin/true", 1), hook("true", 1)]}))
            .as_deref(),
        Some("hooks.poststart[1].path")
    );
    assert_eq!(
        with(|s| s["hooks"] = json!({"createRuntime": [hook("/bin/true", 0)]})).as_deref(),
        Some("hooks.createRuntime[0].timeout")
    );
    assert_eq!(
        with(|s| s["hooks"] = json!({"prestart": [{"path": "/bin/true", "env": ["NOEQ"]}]}))
            .as_deref(),
        Some("hooks.prestart[0].env[0]")
    );
    assert_eq!(
        with(|s| s["hooks"] = json!({"poststop": [hook("/bin/true", 5)]})),
        None
    );
}
