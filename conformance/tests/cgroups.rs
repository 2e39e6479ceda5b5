//! Cgroups from the outside. Each resource the host's controllers support is written to the
//! container's cgroup (found from /proc/PID/cgroup) and read back; the kernel's enforcement
//! where it enforces (OOM kill, failing fork, freezer, CPU throttling); the cgroup commands
//! (pause, resume, ps, events, update, kill --all, delete of a paused container); bad input;
//! and no cgroup left after delete. File names follow the host: v1 names on a v1 or hybrid
//! host, v2 names on a pure v2 host (the v2 lane), so the same tests run on both.
#![allow(clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{
    cgroup, cgroup_dirs_named, spawn_registered, unique_id, wait_spawned, Fixture,
};

const WAIT: Duration = Duration::from_secs(10);
const MB: i64 = 1 << 20;

fn resources(f: &mut Fixture, key: &str, value: Value) {
    f.bundle.config_mut()["linux"]["resources"][key] = value;
}

/// Create and start `id`; returns the container process's pid.
fn start(f: &Fixture, id: &str) -> i32 {
    let out = f.rt.create(id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let out = f.rt.start(id).expect("start");
    assert!(out.success(), "{out}");
    f.rt.wait_status(id, "running", WAIT).expect("running");
    pid(f, id)
}

fn pid(f: &Fixture, id: &str) -> i32 {
    let state = f.rt.state_json(id).expect("state");
    state["pid"].as_i64().expect("pid") as i32
}

/// A cgroup file of `pid` by the host's version: the v1 name or the v2 name.
fn file(pid: i32, controller: &str, v1: &str, v2: &str) -> String {
    let name = if cgroup::is_v2() { v2 } else { v1 };
    cgroup::read(pid, controller, name)
        .unwrap_or_else(|| panic!("cannot read {controller} {name} of pid {pid}"))
}

/// The container's own cgroup directories (those named for it).
fn own_dirs(pid: i32, name: &str) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = cgroup::all_dirs(pid)
        .into_iter()
        .filter(|d| d.to_string_lossy().contains(name))
        .collect();
    assert!(!dirs.is_empty(), "no cgroup of pid {pid} is named {name}");
    dirs
}

/// Force-delete `id`; nothing of it may be left, its cgroup directories included.
fn finish(f: &Fixture, id: &str, dirs: &[PathBuf]) {
    let out = f.rt.delete_force(id).expect("delete");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(id), Vec::<String>::new());
    for d in dirs {
        assert!(!d.exists(), "cgroup left: {}", d.display());
    }
}

fn sleeper() -> Fixture {
    Fixture::new(&["/bin/probe", "sleep", "30"]).expect("fixture")
}

#[test]
fn resources_are_written_to_the_containers_cgroup() {
    let v2 = cgroup::is_v2();
    let mut f = sleeper();
    let mut memory = json!({ "limit": 64 * MB, "reservation": 32 * MB });
    if cgroup::swap_accounted() {
        memory["swap"] = json!(96 * MB);
    }
    if !v2 {
        memory["swappiness"] = json!(20);
    }
    resources(&mut f, "memory", memory);
    resources(
        &mut f,
        "cpu",
        json!({ "shares": 256, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0" }),
    );
    resources(&mut f, "pids", json!({ "limit": 40 }));
    let dev = cgroup::block_device();
    if let Some((major, minor)) = dev {
        resources(
            &mut f,
            "blockIO",
            json!({
                "throttleReadBpsDevice": [{ "major": major, "minor": minor, "rate": MB }],
                "throttleWriteIOPSDevice": [{ "major": major, "minor": minor, "rate": 100 }],
            }),
        );
    }
    // runc 1.1 cannot set hugetlb limits in the unified tree of a hybrid host.
    let runc_hybrid = f.rt.is_runc() && !v2 && !cgroup::v1_has("hugetlb");
    let hugetlb = cgroup::has_controller("hugetlb")
        && std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
        && !runc_hybrid;
    if hugetlb {
        resources(
            &mut f,
            "hugepageLimits",
            json!([{ "pageSize": "2MB", "limit": 4 * MB }]),
        );
    }
    let net = !v2 && cgroup::v1_has("net_cls") && cgroup::v1_has("net_prio");
    if net {
        resources(
            &mut f,
            "network",
            json!({ "classID": 1048577, "priorities": [{ "name": "lo", "priority": 5 }] }),
        );
    }
    let id = unique_id("cgres");
    let pid = start(&f, &id);

    // The default cgroupsPath is the id, under the caller's own cgroup (runc's cgroupfs).
    let pids_dir = cgroup::dir(pid, "pids").expect("pids cgroup");
    assert!(pids_dir.ends_with(&id), "{}", pids_dir.display());
    if !v2 {
        let own = cgroup::dir(std::process::id() as i32, "memory").expect("own memory cgroup");
        assert_eq!(cgroup::dir(pid, "memory"), Some(own.join(&id)));
    }

    let mem = |v1: &str, v2: &str| file(pid, "memory", v1, v2);
    assert_eq!(
        mem("memory.limit_in_bytes", "memory.max"),
        (64 * MB).to_string()
    );
    assert_eq!(
        mem("memory.soft_limit_in_bytes", "memory.low"),
        (32 * MB).to_string()
    );
    if cgroup::swap_accounted() {
        // v1 takes memory+swap; v2 swap alone.
        let want = if v2 { 32 * MB } else { 96 * MB };
        assert_eq!(
            mem("memory.memsw.limit_in_bytes", "memory.swap.max"),
            want.to_string()
        );
    }
    if !v2 {
        assert_eq!(mem("memory.swappiness", ""), "20");
    }
    if v2 {
        // cpu.shares 256 becomes cpu.weight 1 + (256-2)*9999/262142 = 10, as runc converts.
        assert_eq!(file(pid, "cpu", "", "cpu.weight"), "10");
        assert_eq!(file(pid, "cpu", "", "cpu.max"), "20000 100000");
    } else {
        assert_eq!(file(pid, "cpu", "cpu.shares", ""), "256");
        assert_eq!(file(pid, "cpu", "cpu.cfs_quota_us", ""), "20000");
        assert_eq!(file(pid, "cpu", "cpu.cfs_period_us", ""), "100000");
    }
    assert_eq!(file(pid, "cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
    assert_eq!(file(pid, "cpuset", "cpuset.mems", "cpuset.mems"), "0");
    assert_eq!(file(pid, "pids", "pids.max", "pids.max"), "40");
    if let Some((major, minor)) = dev {
        let d = format!("{major}:{minor}");
        if v2 {
            let io = file(pid, "io", "", "io.max");
            assert!(
                io.contains(&format!("{d} rbps={MB} wbps=max riops=max wiops=100")),
                "io.max: {io}"
            );
        } else {
            let read = file(pid, "blkio", "blkio.throttle.read_bps_device", "");
            assert_eq!(read, format!("{d} {MB}"));
            let write = file(pid, "blkio", "blkio.throttle.write_iops_device", "");
            assert_eq!(write, format!("{d} 100"));
        }
    } else {
        eprintln!("no block device: block I/O throttles not checked");
    }
    if hugetlb {
        // A v1 hugetlb hierarchy, or the unified tree (v2, or a hybrid host like this one).
        let name = if cgroup::v1_has("hugetlb") {
            "hugetlb.2MB.limit_in_bytes"
        } else {
            "hugetlb.2MB.max"
        };
        assert_eq!(
            cgroup::read(pid, "hugetlb", name),
            Some((4 * MB).to_string())
        );
    } else {
        eprintln!("no hugetlb controller or 2MB pages: hugepage limits not checked");
    }
    if net {
        assert_eq!(
            cgroup::read(pid, "net_cls", "net_cls.classid").as_deref(),
            Some("1048577")
        );
        let map = cgroup::read(pid, "net_prio", "net_prio.ifpriomap").unwrap_or_default();
        assert!(map.lines().any(|l| l == "lo 5"), "{map}");
    } else {
        eprintln!("no net_cls/net_prio hierarchies: network settings not checked");
    }
    let dirs = own_dirs(pid, &id);
    finish(&f, &id, &dirs);
}

#[test]
fn blkio_weight_is_applied_or_refused_by_name() {
    let mut f = sleeper();
    resources(&mut f, "blockIO", json!({ "weight": 300 }));
    let id = unique_id("cgweight");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    if out.success() {
        let pid = pid(&f, &id);
        // v1 blkio.weight or blkio.bfq.weight keep the spec's 10..1000; v2 io.bfq.weight
        // too, io.weight is 1..10000: 1 + (300-10)*9999/990 = 2930, as runc converts.
        let found: Vec<String> = [
            ("blkio", "blkio.weight"),
            ("blkio", "blkio.bfq.weight"),
            ("io", "io.bfq.weight"),
            ("io", "io.weight"),
        ]
        .iter()
        .filter_map(|(c, name)| cgroup::read(pid, c, name))
        .collect();
        assert!(
            found.iter().any(|w| w
                .lines()
                .any(|l| l == "300" || l == "default 300" || l == "default 2930")),
            "weight files: {found:?}"
        );
        let dirs = own_dirs(pid, &id);
        finish(&f, &id, &dirs);
    } else if f.rt.is_runc() {
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    } else {
        // No CFQ/BFQ on the host's disks: the file is missing and the field is named.
        assert!(
            out.stderr.contains("linux.resources.blockIO.weight"),
            "{out}"
        );
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
}

#[test]
fn memory_limit_oom_kills_and_events_report_it() {
    let mut f = sleeper();
    let mut memory = json!({ "limit": 32 * MB });
    if cgroup::swap_accounted() {
        memory["swap"] = json!(32 * MB);
    }
    resources(&mut f, "memory", memory);
    let id = unique_id("cgoom");
    let pid = start(&f, &id);
    // runc prints its first stats after one interval, skiff at once.
    let mut events = f.rt.command(&["events", "--interval", "1s", &id]);
    events.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = spawn_registered(&mut events).expect("spawn events");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("events stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first stats line: the OOM watch is set up by then.
    let first = rx.recv_timeout(WAIT).expect("first events line");
    let v: Value = serde_json::from_str(&first).expect("events JSON");
    assert_eq!(
        (v["type"].as_str(), v["id"].as_str()),
        (Some("stats"), Some(id.as_str()))
    );

    let out =
        f.rt.exec(&id, &[], &["/bin/probe", "alloc", "256"])
            .expect("exec");
    assert_eq!(out.code(), Some(137), "killed by SIGKILL: {out}");
    assert!(!out.stdout.contains("allocated_mb"), "{out}");
    let kills = if cgroup::is_v2() {
        file(pid, "memory", "", "memory.events")
    } else {
        file(pid, "memory", "memory.oom_control", "")
    };
    let n: u64 = kills
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n >= 1, "oom_kill counter: {kills}");
    let oom = loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) if line.contains("\"oom\"") => break Some(line),
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = wait_spawned(&mut child, WAIT);
    let oom: Value = serde_json::from_str(&oom.expect("an oom event")).expect("oom JSON");
    assert_eq!(oom, json!({ "type": "oom", "id": id }));
    let dirs = own_dirs(pid, &id);
    finish(&f, &id, &dirs);
}

#[test]
fn pids_limit_makes_fork_fail() {
    let mut f = Fixture::new(&["/bin/probe", "fork", "16"]).expect("fixture");
    resources(&mut f, "pids", json!({ "limit": 8 }));
    let id = unique_id("cgpids");
    let (out, report) = f.rt.run_probe(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    let forked = report["forked"].as_u64().expect("forked");
    assert!((1..16).contains(&forked), "{report}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("temporarily unavailable"), "{report}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn cpu_quota_throttles_an_exec_in_the_cgroup() {
    let mut f = sleeper();
    resources(&mut f, "cpu", json!({ "quota": 10000, "period": 100000 }));
    let id = unique_id("cgcpu");
    let pid = start(&f, &id);
    // The exec joins the container's cgroups: its CPU time is throttled there.
    let out =
        f.rt.exec(&id, &[], &["/bin/probe", "spin", "0.5"])
            .expect("exec");
    assert!(out.success(), "{out}");
    let stat = file(pid, "cpu", "cpu.stat", "cpu.stat");
    let throttled: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("nr_throttled "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(throttled > 0, "cpu.stat: {stat}");
    let out = f.rt.cmd(&["events", "--stats", &id]).expect("events");
    assert!(out.success(), "{out}");
    let v = out.json().expect("events JSON");
    let periods = v["data"]["cpu"]["throttling"]["throttledPeriods"].as_u64();
    assert!(periods.is_some_and(|p| p > 0), "{v}");
    let dirs = own_dirs(pid, &id);
    finish(&f, &id, &dirs);
}

fn frozen(pid: i32) -> bool {
    if cgroup::is_v2() {
        file(pid, "freezer", "", "cgroup.freeze") == "1"
    } else {
        file(pid, "freezer", "freezer.state", "") == "FROZEN"
    }
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let f = sleeper();
    let id = unique_id("cgpause");
    let pid = start(&f, &id);
    let dirs = own_dirs(pid, &id);
    let out = f.rt.cmd(&["pause", &id]).expect("pause");
    assert!(out.success(), "{out}");
    assert_eq!(f.rt.status(&id).as_deref(), Some("paused"));
    assert!(frozen(pid));
    let list = f.rt.list().expect("list").json().expect("list JSON");
    let listed = list.as_array().and_then(|a| {
        a.iter()
            .find(|c| c["id"] == json!(id))
            .map(|c| c["status"].clone())
    });
    assert_eq!(listed, Some(json!("paused")));
    let out = f.rt.exec(&id, &[], &["/bin/true"]).expect("exec");
    assert!(!out.success(), "exec in a paused container: {out}");
    assert!(out.stderr.contains("paused"), "{out}");
    let out = f.rt.cmd(&["pause", &id]).expect("pause again");
    assert!(!out.success(), "pausing a paused container: {out}");

    // runc's --ignore-paused: the exec joins the frozen cgroups and runs once resumed.
    let mut exec =
        f.rt.command(&["exec", "--ignore-paused", &id, "/bin/probe", "exit", "3"]);
    exec.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut late = spawn_registered(&mut exec).expect("spawn exec");

    let out = f.rt.cmd(&["resume", &id]).expect("resume");
    assert!(out.success(), "{out}");
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    assert!(!frozen(pid));
    let status = wait_spawned(&mut late, WAIT).expect("exec --ignore-paused");
    assert_eq!(status.code(), Some(3));
    let out = f.rt.cmd(&["resume", &id]).expect("resume again");
    assert!(!out.success(), "resuming a running container: {out}");

    // SIGKILL reaches a paused container: it is thawed so that the signal lands.
    let out = f.rt.cmd(&["pause", &id]).expect("pause");
    assert!(out.success(), "{out}");
    let out = f.rt.kill(&id, "KILL").expect("kill");
    assert!(out.success(), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let out = f.rt.delete(&id).expect("delete");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    for d in dirs {
        assert!(!d.exists(), "cgroup left: {}", d.display());
    }
}

#[test]
fn delete_force_of_a_paused_container() {
    let f = Fixture::new(&[
        "/bin/sh",
        "-c",
        "/bin/probe sleep 30 & exec /bin/probe sleep 30",
    ])
    .expect("fixture");
    let id = unique_id("cgdelpaused");
    let pid = start(&f, &id);
    let dirs = own_dirs(pid, &id);
    let out = f.rt.cmd(&["pause", &id]).expect("pause");
    assert!(out.success(), "{out}");
    let out = f.rt.delete(&id).expect("delete");
    assert!(
        !out.success(),
        "delete without --force of a paused container: {out}"
    );
    finish(&f, &id, &dirs);
}

#[test]
fn ps_events_and_kill_all() {
    let f = Fixture::new(&[
        "/bin/sh",
        "-c",
        "/bin/probe sleep 30 & exec /bin/probe sleep 30",
    ])
    .expect("fixture");
    let id = unique_id("cgps");
    let pid = start(&f, &id);
    let dirs = own_dirs(pid, &id);
    // The child may take a moment to exist.
    let mut pids = Vec::new();
    for _ in 0..100 {
        let out = f.rt.cmd(&["ps", "--format", "json", &id]).expect("ps");
        assert!(out.success(), "{out}");
        pids = serde_json::from_str::<Vec<i32>>(out.stdout.trim()).expect("ps JSON");
        if pids.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid), "{pids:?} lacks {pid}");
    if std::process::Command::new("ps")
        .arg("-ef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let out = f.rt.cmd(&["ps", &id]).expect("ps table");
        assert!(out.success(), "{out}");
        let mut lines = out.stdout.lines();
        let header = lines.next().unwrap_or_default();
        let col = header
            .split_whitespace()
            .position(|c| c == "PID")
            .expect("PID column");
        let listed: Vec<i32> = lines
            .filter_map(|l| l.split_whitespace().nth(col)?.parse().ok())
            .collect();
        assert_eq!(listed.len(), 2, "{}", out.stdout);
        assert!(listed.iter().all(|p| pids.contains(p)), "{}", out.stdout);
    } else {
        eprintln!("the host's ps has no -ef: the table format is not checked");
    }
    let out = f.rt.cmd(&["events", "--stats", &id]).expect("events");
    assert!(out.success(), "{out}");
    let v = out.json().expect("events JSON");
    assert_eq!(v["type"], json!("stats"));
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["data"]["pids"]["current"], json!(2), "{v}");
    for section in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
        assert!(v["data"].get(section).is_some(), "no {section}: {v}");
    }
    assert!(
        v["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );

    let out =
        f.rt.cmd(&["kill", "--all", &id, "KILL"])
            .expect("kill --all");
    assert!(out.success(), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    for p in pids {
        let deadline = std::time::Instant::now() + WAIT;
        while std::path::Path::new(&format!("/proc/{p}/status")).exists()
            && std::fs::read_to_string(format!("/proc/{p}/status"))
                .is_ok_and(|s| !s.contains("State:\tZ"))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let alive = std::fs::read_to_string(format!("/proc/{p}/status"))
            .is_ok_and(|s| !s.contains("State:\tZ"));
        assert!(!alive, "pid {p} survived kill --all");
    }
    finish(&f, &id, &dirs);
}

#[test]
fn update_changes_the_cgroup_files() {
    let v2 = cgroup::is_v2();
    let mut f = sleeper();
    resources(&mut f, "memory", json!({ "limit": 64 * MB }));
    resources(&mut f, "pids", json!({ "limit": 40 }));
    resources(&mut f, "cpu", json!({ "quota": 20000, "period": 100000 }));
    let id = unique_id("cgupdate");
    let pid = start(&f, &id);
    let out =
        f.rt.cmd(&[
            "update",
            "--memory",
            "128m",
            "--memory-reservation",
            "64m",
            "--pids-limit",
            "20",
            "--cpu-quota",
            "30000",
            "--cpu-share",
            "512",
            &id,
        ])
        .expect("update");
    assert!(out.success(), "{out}");
    assert_eq!(
        file(pid, "memory", "memory.limit_in_bytes", "memory.max"),
        (128 * MB).to_string()
    );
    assert_eq!(
        file(pid, "memory", "memory.soft_limit_in_bytes", "memory.low"),
        (64 * MB).to_string()
    );
    assert_eq!(file(pid, "pids", "pids.max", "pids.max"), "20");
    if v2 {
        // The period stays: quota and period are written together.
        assert_eq!(file(pid, "cpu", "", "cpu.max"), "30000 100000");
        assert_eq!(file(pid, "cpu", "", "cpu.weight"), "20");
    } else {
        assert_eq!(file(pid, "cpu", "cpu.cfs_quota_us", ""), "30000");
        assert_eq!(file(pid, "cpu", "cpu.cfs_period_us", ""), "100000");
        assert_eq!(file(pid, "cpu", "cpu.shares", ""), "512");
    }
    let json_file = f.bundle.path().join("update.json");
    std::fs::write(&json_file, r#"{"pids": {"limit": 25}}"#).expect("write update.json");
    let out =
        f.rt.cmd(&["update", "-r", &json_file.to_string_lossy(), &id])
            .expect("update -r");
    assert!(out.success(), "{out}");
    assert_eq!(file(pid, "pids", "pids.max", "pids.max"), "25");

    // `--resources -`: the JSON on stdin, as containerd's runc shim (go-runc)
    // calls it.
    let mut child = std::process::Command::new(f.rt.bin())
        .arg("--root")
        .arg(f.rt.root())
        .args(["update", "--resources", "-", &id])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn update --resources -");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(br#"{"pids": {"limit": 23}}"#)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("update --resources -");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(file(pid, "pids", "pids.max", "pids.max"), "23");
    // Put 25 back for the checks below.
    let out =
        f.rt.cmd(&["update", "-r", &json_file.to_string_lossy(), &id])
            .expect("update -r");
    assert!(out.success(), "{out}");

    // Bad values change nothing and name what was wrong.
    for (args, names) in [
        (vec!["--memory", "-5"], "--memory"),
        (vec!["--pids-limit", "lots"], "--pids-limit"),
        (vec!["--cpu-quota", "500"], "linux.resources.cpu.quota"),
        (vec!["--memory-swap", "1m"], "linux.resources.memory.swap"),
    ] {
        let mut cmd = vec!["update"];
        cmd.extend(&args);
        cmd.push(&id);
        let out = f.rt.cmd(&cmd).expect("update");
        assert!(!out.success(), "{args:?}: {out}");
        if !f.rt.is_runc() {
            assert!(out.stderr.contains(names), "{args:?}: {out}");
        }
        assert_eq!(file(pid, "pids", "pids.max", "pids.max"), "25");
        assert_eq!(
            file(pid, "memory", "memory.limit_in_bytes", "memory.max"),
            (128 * MB).to_string()
        );
    }
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    let dirs = own_dirs(pid, &id);
    finish(&f, &id, &dirs);
}

#[test]
fn bad_resources_name_the_field_and_leave_nothing() {
    let unified_field = if cgroup::is_v2() {
        "linux.resources.unified.memory.skiff_bogus"
    } else {
        "linux.resources.unified"
    };
    let id_escape = unique_id("cgbad-escape");
    // (what to set in linux, the field the error names, whether runc 1.1 accepts it)
    let cases: Vec<(&str, Value, &str, bool)> = vec![
        (
            "resources",
            json!({ "unified": { "memory.skiff_bogus": "1" } }),
            unified_field,
            false,
        ),
        (
            "resources",
            json!({ "memory": { "limit": -5 } }),
            "linux.resources.memory.limit",
            false,
        ),
        (
            "resources",
            json!({ "pids": { "limit": 1_000_000_000_i64 } }),
            "linux.resources.pids.limit",
            false,
        ),
        (
            "resources",
            json!({ "cpu": { "shares": 1 } }),
            "linux.resources.cpu.shares",
            false,
        ),
        (
            "resources",
            json!({ "cpu": { "cpus": "zero-one" } }),
            "linux.resources.cpu.cpus",
            false,
        ),
        (
            "resources",
            json!({ "hugepageLimits": [{ "pageSize": "3MB", "limit": 1 }] }),
            "linux.resources.hugepageLimits[0]",
            false,
        ),
        (
            "cgroupsPath",
            json!(format!("../../{id_escape}")),
            "linux.cgroupsPath",
            true,
        ),
    ];
    let mut cases = cases;
    if !cgroup::v1_has("net_cls") {
        cases.push((
            "resources",
            json!({ "network": { "classID": 1 } }),
            "linux.resources.network.classID",
            false,
        ));
    }
    for (key, value, field, runc_accepts) in cases {
        let mut f = sleeper();
        match key {
            "resources" => {
                let r = &mut f.bundle.config_mut()["linux"]["resources"];
                for (k, v) in value.as_object().expect("object") {
                    r[k] = v.clone();
                }
            }
            _ => f.bundle.config_mut()["linux"][key] = value.clone(),
        }
        let id = unique_id("cgbad");
        let out = f.rt.create(&id, &f.bundle).expect("create");
        if f.rt.is_runc() && out.success() {
            assert!(runc_accepts, "{value}: runc accepted it");
            eprintln!("runc 1.1 accepts {value}");
            let _ = f.rt.delete_force(&id);
        } else {
            assert_eq!(out.code(), Some(1), "{value}: {out}");
            if !f.rt.is_runc() {
                assert!(out.stderr.contains(field), "{value}: {out}");
            }
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new(), "{value}");
        assert_eq!(
            cgroup_dirs_named(&id_escape),
            Vec::<PathBuf>::new(),
            "{value}"
        );
    }
}

#[test]
fn explicit_paths_and_a_populated_cgroup_is_not_reused() {
    let name = unique_id("cgshared");
    let path = format!("/{name}/leaf");
    let mut f = sleeper();
    f.bundle.config_mut()["linux"]["cgroupsPath"] = json!(path);
    let first = unique_id("cgfirst");
    let pid = start(&f, &first);
    // An absolute cgroupsPath is taken from the hierarchy root.
    let dir = cgroup::dir(pid, "pids").expect("pids cgroup");
    assert!(
        dir.ends_with(path.trim_start_matches('/')),
        "{}",
        dir.display()
    );
    let dirs = own_dirs(pid, &name);
    let second = unique_id("cgsecond");
    let out = f.rt.create(&second, &f.bundle).expect("create");
    if f.rt.is_runc() {
        // runc 1.1 only warns about a populated cgroup (an error from runc 1.2 on).
        if out.success() {
            let _ = f.rt.delete_force(&second);
        }
    } else {
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(
            out.stderr.contains("linux.cgroupsPath") && out.stderr.contains("populated"),
            "{out}"
        );
        // The same bundle runs the first container: only its process may be seen.
        let left: Vec<String> = f
            .leaks(&second)
            .into_iter()
            .filter(|l| !l.starts_with("process left"))
            .collect();
        assert_eq!(left, Vec::<String>::new());
        let out = f.rt.cmd(&["ps", "-f", "json", &first]).expect("ps");
        assert_eq!(out.stdout.trim(), format!("[{pid}]"), "{out}");
    }
    assert_eq!(f.rt.status(&first).as_deref(), Some("running"));
    assert!(dir.exists(), "the first container's cgroup is kept");
    finish(&f, &first, &dirs);
    // The parent skiff made for the path goes too (runc 1.1 leaves it: removed here).
    let parents = cgroup_dirs_named(&name);
    if f.rt.is_runc() {
        for d in &parents {
            let _ = std::fs::remove_dir(d);
        }
    } else {
        assert_eq!(parents, Vec::<PathBuf>::new());
    }
}

#[test]
fn a_failed_create_removes_the_cgroups_it_made() {
    let mut f = Fixture::new(&["/nonexistent/program"]).expect("fixture");
    resources(&mut f, "pids", json!({ "limit": 10 }));
    let id = unique_id("cgfail");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(!out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    assert_eq!(cgroup_dirs_named(&id), Vec::<PathBuf>::new());
}
