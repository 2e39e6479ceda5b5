//! What the container process sees: args, env, ids, capabilities, limits, namespaces, fds.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::fd::OwnedFd;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{
    cap_mask, host_ns, probe_caps, probe_fds, unique_id, Fixture, Opts, DEFAULT_CAPS,
};

const WAIT: Duration = Duration::from_secs(10);

fn run_probe(f: &Fixture, tag: &str) -> Value {
    let id = unique_id(tag);
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let report = out.json().expect("probe JSON");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    report
}

#[test]
fn process_config_is_applied() {
    let mut f = Fixture::new(&["/bin/probe", "info", "extra arg"]).expect("fixture");
    {
        let c = f.bundle.config_mut();
        c["process"]["cwd"] = json!("/tmp");
        c["process"]["env"]
            .as_array_mut()
            .expect("env array")
            .push(json!("GREETING=hello world"));
        c["hostname"] = json!("probe-host");
        c["process"]["user"] = json!({
            "uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 23
        });
        c["process"]["rlimits"] = json!([
            { "type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024 },
            { "type": "RLIMIT_NPROC", "soft": 300, "hard": 400 },
        ]);
        c["process"]["oomScoreAdj"] = json!(123);
        // Ambient capabilities need the inheritable set too (the kernel refuses to raise
        // an ambient capability that is not inheritable), which `runc spec` leaves out.
        c["process"]["capabilities"]["inheritable"] = json!(DEFAULT_CAPS);
    }
    let r = run_probe(&f, "config");

    assert_eq!(
        r["args"],
        json!(["/bin/probe", "info", "extra arg"]),
        "args"
    );
    assert_eq!(r["cwd"], "/tmp", "cwd");
    assert_eq!(r["env"]["GREETING"], "hello world", "env: {}", r["env"]);
    assert_eq!(
        r["env"]["PATH"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "env"
    );
    assert_eq!(r["hostname"], "probe-host", "hostname");
    assert_eq!(
        (r["uid"].as_u64(), r["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(
        (r["gid"].as_u64(), r["egid"].as_u64()),
        (Some(1001), Some(1001))
    );
    let mut groups: Vec<u64> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(Value::as_u64)
        .filter(|g| *g != 1001)
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, vec![10, 20], "additionalGids: {}", r["groups"]);
    assert_eq!(r["umask"], "0027", "umask 23 = 0o27");
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 512, "hard": 1024})
    );
    assert_eq!(
        r["rlimits"]["RLIMIT_NPROC"],
        json!({"soft": 300, "hard": 400})
    );
    assert_eq!(r["no_new_privs"], true, "noNewPrivileges");
    assert_eq!(r["oom_score_adj"], 123, "oomScoreAdj");
    // A non-root user keeps exactly the ambient capabilities.
    let mask = cap_mask(DEFAULT_CAPS);
    assert_eq!(
        probe_caps(&r, "bounding"),
        Some(mask),
        "{}",
        r["capabilities"]
    );
    assert_eq!(
        probe_caps(&r, "ambient"),
        Some(mask),
        "{}",
        r["capabilities"]
    );
    assert_eq!(
        probe_caps(&r, "effective"),
        Some(mask),
        "{}",
        r["capabilities"]
    );
}

#[test]
fn root_gets_the_configured_capabilities() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let caps = ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_NET_RAW"];
    f.bundle.config_mut()["process"]["capabilities"] = json!({
        "bounding": caps,
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": caps,
        "inheritable": ["CAP_KILL"],
    });
    let r = run_probe(&f, "caps");
    assert_eq!(probe_caps(&r, "bounding"), Some(cap_mask(&caps)));
    assert_eq!(probe_caps(&r, "permitted"), Some(cap_mask(&caps)));
    // For uid 0, execve makes the effective set equal to the permitted one (no securebits
    // are set), whatever `effective` says: runc and the kernel agree on that.
    assert_eq!(probe_caps(&r, "effective"), Some(cap_mask(&caps)));
    assert_eq!(probe_caps(&r, "inheritable"), Some(cap_mask(&["CAP_KILL"])));
    assert_eq!(probe_caps(&r, "ambient"), Some(0));
}

#[test]
fn no_new_privileges_false_is_honoured() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    f.bundle.config_mut()["process"]["noNewPrivileges"] = json!(false);
    let r = run_probe(&f, "nnp");
    assert_eq!(r["no_new_privs"], false);
}

#[test]
fn defaults_of_a_runc_spec_config() {
    let f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let r = run_probe(&f, "defaults");
    assert_eq!(r["pid"], 1, "the process is pid 1 of its pid namespace");
    assert_eq!(r["ppid"], 0);
    assert_eq!(r["uid"], 0);
    assert_eq!(r["gid"], 0);
    assert_eq!(r["cwd"], "/");
    assert_eq!(r["hostname"], "skiff-test");
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 1024, "hard": 1024})
    );
    assert_eq!(r["no_new_privs"], true);
    let mask = cap_mask(DEFAULT_CAPS);
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(
            probe_caps(&r, set),
            Some(mask),
            "{set}: {}",
            r["capabilities"]
        );
    }
    assert_eq!(r["exe"], "/bin/probe");
}

#[test]
fn namespaces_differ_from_the_host() {
    let f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let r = run_probe(&f, "ns");
    for ns in ["pid", "ipc", "uts", "mnt", "net"] {
        let inside = r["namespaces"][ns].as_str().expect("ns in report");
        assert_ne!(
            Some(inside.to_string()),
            host_ns(ns),
            "{ns} namespace is new"
        );
    }
    // Not asked for: shared with the host.
    for ns in ["user", "cgroup"] {
        if let Some(host) = host_ns(ns) {
            assert_eq!(
                r["namespaces"][ns].as_str(),
                Some(host.as_str()),
                "{ns} is shared"
            );
        }
    }
}

#[test]
fn joins_a_namespace_given_by_path() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    // Join the host's network namespace through its path: the container shares it.
    let nss = f.bundle.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces");
    for ns in nss.iter_mut() {
        if ns["type"] == "network" {
            ns["path"] = json!("/proc/self/ns/net");
        }
    }
    let r = run_probe(&f, "nspath");
    assert_eq!(r["namespaces"]["net"].as_str(), host_ns("net").as_deref());
}

/// Only 0, 1 and 2 reach the container, whatever the runtime (or the test process) had
/// open. The probe leaves out the descriptor it used for the listing.
#[test]
fn only_stdio_fds_reach_the_container() {
    let f = Fixture::new(&["/bin/probe", "fds"]).expect("fixture");
    let id = unique_id("fds");
    // Hand the runtime an extra inheritable fd 3 without --preserve-fds: it must not leak.
    let extra = OwnedFd::from(tempfile::tempfile().expect("temp file"));
    let opts = Opts {
        extra_fds: vec![extra],
        ..Opts::default()
    };
    let out = f.rt.run_with(&id, &f.bundle, &[], opts).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "{}", fds["fds"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn preserve_fds_passes_extra_fds() {
    let f = Fixture::new(&["/bin/probe", "fds"]).expect("fixture");
    let id = unique_id("pfds");
    let extra = vec![
        OwnedFd::from(tempfile::tempfile().expect("temp file")),
        OwnedFd::from(tempfile::tempfile().expect("temp file")),
    ];
    let opts = Opts {
        extra_fds: extra,
        ..Opts::default()
    };
    let out =
        f.rt.run_with(&id, &f.bundle, &["--preserve-fds", "1"], opts)
            .expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2, 3], "{}", fds["fds"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// CVE-2019-5736: no process of the container may reach the runtime binary on the host
/// through /proc/<pid>/exe, neither while created (the runtime's init is waiting) nor after.
#[test]
fn proc_exe_does_not_reach_the_runtime_binary() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("exe");
    let bin = std::fs::canonicalize(f.rt.bin()).expect("runtime path");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_i64()
        .expect("pid");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("readlink exe");
    assert_ne!(
        exe, bin,
        "created container's init is the runtime binary itself"
    );
    // Writing through /proc/<pid>/exe must not reach the runtime binary either.
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/exe"));
    if let Ok(file) = opened {
        let meta = file.metadata().expect("metadata");
        let bin_meta = std::fs::metadata(&bin).expect("runtime metadata");
        use std::os::unix::fs::MetadataExt;
        assert!(
            (meta.dev(), meta.ino()) != (bin_meta.dev(), bin_meta.ino()),
            "/proc/{pid}/exe opens the runtime binary for writing"
        );
    }
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("readlink exe");
    assert_ne!(exe, bin);
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn exec_joins_the_container() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("exec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_i64()
        .expect("pid");

    let out = f.rt.exec(&id, &[], &["/bin/probe"]).expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    for ns in ["pid", "ipc", "uts", "mnt", "net"] {
        let init = std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
            .expect("init ns")
            .to_string_lossy()
            .into_owned();
        assert_eq!(r["namespaces"][ns].as_str(), Some(init.as_str()), "{ns}");
    }
    assert_eq!(r["hostname"], "skiff-test");
    assert!(
        r["pid"].as_u64().is_some_and(|p| p > 1),
        "exec is not pid 1"
    );
    assert_eq!(probe_fds(&r), vec![0, 1, 2], "{}", r["fds"]);

    let out =
        f.rt.exec(&id, &[], &["/bin/probe", "exit", "5"])
            .expect("exec");
    assert_eq!(out.code(), Some(5), "exec propagates the exit code: {out}");

    let out =
        f.rt.exec(&id, &["--env", "EXTRA=1", "--cwd", "/tmp"], &["/bin/probe"])
            .expect("exec with flags");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    assert_eq!(r["env"]["EXTRA"], "1");
    assert_eq!(r["cwd"], "/tmp");

    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn exec_into_a_stopped_container_fails() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let id = unique_id("execstop");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let out = f.rt.exec(&id, &[], &["/bin/true"]).expect("exec");
    assert!(!out.success(), "{out}");
    assert!(f.rt.delete(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn sysctl_is_applied() {
    let mut f = Fixture::new(&[
        "/bin/probe",
        "sysctl",
        "net.ipv4.ip_forward",
        "kernel.shmmax",
    ])
    .expect("fixture");
    f.bundle.config_mut()["linux"]["sysctl"] =
        json!({ "net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789" });
    let id = unique_id("sysctl");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    assert_eq!(r["net.ipv4.ip_forward"], "1");
    assert_eq!(r["kernel.shmmax"], "123456789");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn personality_linux32_reaches_run_and_exec() {
    let mut f = Fixture::new(&["/bin/busybox", "uname", "-m"]).expect("fixture");
    if f.rt.is_runc() {
        eprintln!("skipped: runc 1.1.5 ignores linux.personality");
        return;
    }
    f.bundle.config_mut()["linux"]["personality"] = json!({ "domain": "LINUX32", "flags": [] });
    let id = unique_id("pers32");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout.trim(), "i686", "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    f.bundle.config_mut()["process"]["args"] = json!(["/bin/busybox", "sleep", "60"]);
    let id = unique_id("pers32x");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let out =
        f.rt.exec(&id, &[], &["/bin/busybox", "uname", "-m"])
            .expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout.trim(), "i686", "exec'd process: {out}");
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn personality_linux_is_the_native_machine() {
    let mut f = Fixture::new(&["/bin/busybox", "uname", "-m"]).expect("fixture");
    f.bundle.config_mut()["linux"]["personality"] = json!({ "domain": "LINUX" });
    let id = unique_id("pers64");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout.trim(), std::env::consts::ARCH, "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
