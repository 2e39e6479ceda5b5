//! Lifecycle verbs: run, create/start/state/kill/delete, list, and their exit codes.
#![allow(clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::Value;
use skiff_conformance::{unique_id, Fixture};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn run_true_exits_zero() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let id = unique_id("true");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn run_propagates_exit_code() {
    let f = Fixture::new(&["/bin/probe", "exit", "3"]).expect("fixture");
    let id = unique_id("exit3");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn run_passes_stdout_through() {
    let f = Fixture::new(&["/bin/echo", "hello from the container"]).expect("fixture");
    let id = unique_id("echo");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "hello from the container\n", "{out}");
}

#[test]
fn run_killed_by_signal_exits_128_plus_signal() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("sig");
    std::thread::scope(|s| {
        let runner = s.spawn(|| f.rt.run(&id, &f.bundle));
        f.rt.wait_status(&id, "running", WAIT)
            .expect("container reaches running");
        let kill = f.rt.kill(&id, "KILL").expect("kill");
        assert!(kill.success(), "{kill}");
        let out = runner.join().expect("runner thread").expect("run");
        assert_eq!(out.code(), Some(128 + 9), "{out}");
    });
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn create_start_kill_delete_walk_the_states() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("life");

    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let st = f.rt.state_json(&id).expect("state after create");
    assert_eq!(st["status"], "created", "{st}");
    let pid = st["pid"].as_i64().expect("pid is a number");
    assert!(pid > 0, "created container has a pid: {st}");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} of a created container exists on the host"
    );

    let out = f.rt.start(&id).expect("start");
    assert!(out.success(), "{out}");
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let st = f.rt.state_json(&id).expect("state after start");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid),
        "pid unchanged by start: {st}"
    );

    let out = f.rt.kill(&id, "KILL").expect("kill");
    assert!(out.success(), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");

    let out = f.rt.delete(&id).expect("delete");
    assert!(out.success(), "{out}");
    let out = f.rt.state(&id).expect("state after delete");
    assert!(!out.success(), "state of a deleted container fails: {out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn start_runs_the_process_only_then() {
    let f = Fixture::new(&["/bin/echo", "started"]).expect("fixture");
    let id = unique_id("startout");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(f.rt.output(&id).0, "", "nothing runs before start");
    let out = f.rt.start(&id).expect("start");
    assert!(out.success(), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    assert_eq!(f.rt.output(&id).0, "started\n");
    let out = f.rt.delete(&id).expect("delete");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn state_json_has_the_oci_fields() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("state");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let st = f.rt.state_json(&id).expect("state");
    assert!(st["ociVersion"].is_string(), "ociVersion: {st}");
    assert_eq!(st["id"], Value::from(id.clone()), "{st}");
    assert_eq!(st["status"], "created", "{st}");
    assert!(st["pid"].as_i64().is_some_and(|p| p > 0), "pid: {st}");
    let bundle = std::fs::canonicalize(f.bundle.path()).expect("canonical bundle");
    assert_eq!(
        st["bundle"].as_str().map(std::path::PathBuf::from),
        Some(bundle),
        "bundle is the absolute bundle path: {st}"
    );
    let out = f.rt.delete_force(&id).expect("delete --force");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn list_shows_created_containers() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("list");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let out = f.rt.list().expect("list");
    assert!(out.success(), "{out}");
    let list = out.json().expect("list --format json is JSON");
    let entry = list
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"].as_str() == Some(id.as_str())))
        .unwrap_or_else(|| panic!("{id} in list: {list}"));
    assert_eq!(entry["status"], "created", "{entry}");
    let out = f.rt.delete_force(&id).expect("delete --force");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn delete_of_running_container_needs_force() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("delrun");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");

    let out = f.rt.delete(&id).expect("delete");
    assert!(
        !out.success(),
        "delete of a running container is refused: {out}"
    );
    assert_eq!(
        f.rt.status(&id).as_deref(),
        Some("running"),
        "still running"
    );

    let out = f.rt.delete_force(&id).expect("delete --force");
    assert!(out.success(), "{out}");
    assert!(
        !f.rt.state(&id).expect("state").success(),
        "gone after delete --force"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn kill_of_stopped_container_fails() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let id = unique_id("killstop");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let out = f.rt.kill(&id, "KILL").expect("kill");
    assert!(!out.success(), "kill of a stopped container errors: {out}");
    assert!(f.rt.delete(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn start_twice_fails() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("start2");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let out = f.rt.start(&id).expect("second start");
    assert!(!out.success(), "a second start is refused: {out}");
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn create_with_an_id_in_use_fails() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("dup");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    let out = f.rt.create(&id, &f.bundle).expect("second create");
    assert!(
        !out.success(),
        "a second create with the same id fails: {out}"
    );
    assert_eq!(
        f.rt.status(&id).as_deref(),
        Some("created"),
        "first one untouched"
    );
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn state_of_unknown_container_fails() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let out = f.rt.state("skc-no-such-container").expect("state");
    assert!(!out.success(), "{out}");
    let out = f.rt.delete("skc-no-such-container").expect("delete");
    assert!(!out.success(), "{out}");
}

/// `run /bin/true` many times; none may hang (each has the harness timeout). The count is
/// `$SKIFF_CONFORMANCE_RUNS`, default 1000.
#[test]
fn many_runs_do_not_hang() {
    let count: usize = std::env::var("SKIFF_CONFORMANCE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let mut slowest = Duration::ZERO;
    for i in 0..count {
        let id = unique_id("many");
        let out =
            f.rt.run(&id, &f.bundle)
                .unwrap_or_else(|e| panic!("run {i} of {count}: {e}"));
        assert_eq!(out.code(), Some(0), "run {i} of {count}: {out}");
        slowest = slowest.max(out.elapsed);
        if i + 1 == count {
            assert_eq!(f.leaks(&id), Vec::<String>::new());
        }
    }
    let left: Vec<_> = std::fs::read_dir(f.rt.root())
        .expect("state root")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "state left after {count} runs: {left:?}");
    eprintln!("{count} runs, slowest {slowest:?}");
}

/// The harness's own check: a container left created must be reported as a leak, so that
/// an empty leak list elsewhere means something.
#[test]
fn leak_check_sees_a_live_container() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("leakself");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let leaks = f.leaks(&id);
    assert!(
        leaks.iter().any(|l| l.starts_with("state left")),
        "{leaks:?}"
    );
    assert!(
        leaks.iter().any(|l| l.starts_with("process left")),
        "{leaks:?}"
    );
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
