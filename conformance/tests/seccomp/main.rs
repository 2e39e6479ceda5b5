//! `linux.seccomp` through a whole container: NOTIFY profiles that cannot work are refused
//! with the field or path named, and leave nothing behind; with an agent at
//! `listenerPath` (the test itself), the listener and the container process state reach
//! it, and its answers are what the container's notified calls return.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{unique_id, Fixture};

/// A NOTIFY profile whose `listenerPath` does not exist: the runtime must generate an error
/// (config-linux.md) naming the path, and leave no process, state or cgroup behind.
#[test]
fn notify_with_missing_listener_path_fails_naming_it() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let path = f.bundle.path().join("no-such-dir/agent.sock");
    f.bundle.config_mut()["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
    });
    let id = unique_id("notify-nopath");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_ne!(out.code(), Some(0), "{out}");
    if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&path.display().to_string()),
            "error names {}: {out}",
            path.display()
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// NOTIFY on `sendmsg`, the call skiff makes to hand the listener to the agent, would hold
/// the container forever: refused up front, naming the syscall (runc refuses `write`, which
/// its init uses the same way).
#[test]
fn notify_on_the_runtime_handover_call_is_refused() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    if f.rt.is_runc() {
        return;
    }
    let path = f.bundle.path().join("agent.sock");
    let _agent = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    f.bundle.config_mut()["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "syscalls": [{ "names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY" }]
    });
    let id = unique_id("notify-sendmsg");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_ne!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("sendmsg"), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

mod agent;

use agent::{Agent, Answer, Conn, AGENT_PATIENCE, METADATA};

/// A profile that allows everything but notifies `mkdir`/`mkdirat` to the agent at `path`.
fn notify_profile(path: &Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "listenerMetadata": METADATA,
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
    })
}

/// Checks what every connection must carry: the listener (one seccomp notify fd, named
/// `seccompFd`), the metadata, and a state of container `id`; and, when `must_close`,
/// that the runtime closed the connection after the state.
fn check_conn(conn: &Conn, id: &str, must_close: bool) {
    let s = &conn.state;
    assert!(
        conn.closed || !must_close,
        "one state per connection, closed after it: {conn:?}"
    );
    assert_eq!(conn.fd_kinds, ["anon_inode:seccomp notify"], "{conn:?}");
    assert_eq!(s["fds"], json!(["seccompFd"]), "{s}");
    assert!(
        s["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{s}"
    );
    assert!(s["pid"].as_u64().is_some_and(|p| p > 0), "{s}");
    assert_eq!(s["metadata"], METADATA, "{s}");
    assert_eq!(s["state"]["id"], id, "{s}");
    assert!(
        s["state"]["ociVersion"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{s}"
    );
    assert!(s["state"]["pid"].as_u64().is_some_and(|p| p > 0), "{s}");
    for seen in &conn.seen {
        assert!(
            seen.nr == libc::SYS_mkdir || seen.nr == libc::SYS_mkdirat,
            "notified syscall {} is not mkdir ({}) or mkdirat ({}): {conn:?}",
            seen.nr,
            libc::SYS_mkdir,
            libc::SYS_mkdirat
        );
        assert_eq!(
            u64::from(seen.pid),
            s["pid"].as_u64().unwrap_or(0),
            "the caller is the process the state names: {conn:?}"
        );
    }
}

/// What a container served by the agent left: the agent's connections, the container's
/// pid (from `state` once created) and the probe's report (its stdout).
struct Served {
    conns: Vec<Conn>,
    pid: u64,
    report: Value,
}

/// Create and start container `id` of `f`, wait until it stops, and end the agent.
fn serve_container(f: &Fixture, id: &str, agent: Agent) -> Served {
    let out = f.rt.create(id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let pid = f.rt.state_json(id).expect("state")["pid"]
        .as_u64()
        .expect("pid in state");
    let out = f.rt.start(id).expect("start");
    assert!(out.success(), "{out}");
    let stopped = f.rt.wait_status(id, "stopped", AGENT_PATIENCE);
    let conns = agent.finish();
    stopped.expect("the container ends");
    let (stdout, stderr) = f.rt.output(id);
    let conns = conns.unwrap_or_else(|e| panic!("agent: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("probe report ({e}): {stdout}\nstderr: {stderr}"));
    Served { conns, pid, report }
}

/// Delete container `id` and check it left nothing behind.
fn delete_leaving_nothing(f: &Fixture, id: &str) {
    let out = f.rt.delete(id).expect("delete");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(id), Vec::<String>::new());
}

/// The probe's `mkdir` report for `path`: (ok, errno, exists).
fn mkdir_result(report: &Value, path: &str) -> (bool, Option<i64>, bool) {
    let entry = report
        .as_array()
        .and_then(|a| a.iter().find(|e| e["path"] == path))
        .unwrap_or_else(|| panic!("no entry for {path} in {report}"));
    (
        entry["ok"].as_bool().unwrap_or(false),
        entry["errno"].as_i64(),
        entry["exists"].as_bool().unwrap_or(true),
    )
}

/// The whole NOTIFY path: the runtime hands the listener and the container process state
/// to the agent at `listenerPath`; the agent's answers are what the container's `mkdir`s
/// return. `/refused` is answered EXDEV (which mkdir never returns by itself), `/faked` is
/// answered success without being made, so the container sees it succeed and yet finds no
/// directory: neither could happen without the agent.
#[test]
fn notify_agent_answers_the_containers_mkdir() {
    let mut f = Fixture::new(&["/bin/probe", "mkdir", "/refused", "/faked"]).expect("fixture");
    let agent = Agent::spawn(vec![vec![
        ("/refused", Answer::Errno(libc::EXDEV)),
        ("/faked", Answer::Success(0)),
    ]]);
    f.bundle.config_mut()["linux"]["seccomp"] = notify_profile(&agent.path());
    f.bundle.config_mut()["annotations"] = json!({ "skiff.test/agent": "notify" });
    let id = unique_id("notify-agent");
    let Served { conns, pid, report } = serve_container(&f, &id, agent);

    assert_eq!(conns.len(), 1, "{conns:?}");
    let conn = &conns[0];
    check_conn(conn, &id, true);
    let s = &conn.state;
    assert_eq!(s["pid"].as_u64(), Some(pid), "pid of the container: {s}");
    assert_eq!(s["state"]["pid"].as_u64(), Some(pid), "{s}");
    let status = s["state"]["status"].as_str().unwrap_or("");
    assert!(status == "creating" || status == "running", "{s}");
    assert_eq!(
        s["state"]["bundle"].as_str().map(PathBuf::from),
        Some(f.bundle.path().to_path_buf()),
        "{s}"
    );
    assert_eq!(
        s["state"]["annotations"]["skiff.test/agent"], "notify",
        "{s}"
    );
    let paths: Vec<&str> = conn.seen.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["/refused", "/faked"], "{conn:?}");

    // What the container saw is what the agent answered.
    assert_eq!(
        mkdir_result(&report, "/refused"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );
    assert_eq!(
        mkdir_result(&report, "/faked"),
        (true, None, false),
        "{report}"
    );
    assert!(!f.bundle.rootfs().join("refused").exists());
    assert!(!f.bundle.rootfs().join("faked").exists());
    delete_leaving_nothing(&f, &id);
}

/// A process `exec`ed into the container gets its own filter and listener, handed to the
/// agent on a connection of its own, with the state of the running container: `pid` is
/// the exec'd process (the one the notifications come from), `state.pid` the container's.
#[test]
fn notify_agent_gets_the_exec_process_listener() {
    let mut f = Fixture::new(&["/bin/probe", "sleep", "30"]).expect("fixture");
    // The container's own process makes no mkdir; the exec'd one makes one.
    let agent = Agent::spawn(vec![
        vec![],
        vec![("/from-exec", Answer::Errno(libc::EXDEV))],
    ]);
    f.bundle.config_mut()["linux"]["seccomp"] = notify_profile(&agent.path());
    let id = unique_id("notify-exec");

    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_u64()
        .expect("pid in state");
    let out = f.rt.start(&id).expect("start");
    assert!(out.success(), "{out}");
    let exec = f.rt.exec(&id, &[], &["/bin/probe", "mkdir", "/from-exec"]);
    let conns = agent.finish();
    let _ = f.rt.kill(&id, "KILL");
    let exec = exec.expect("exec");
    let conns = conns.unwrap_or_else(|e| panic!("agent: {e}\nexec: {exec}"));

    assert_eq!(conns.len(), 2, "{conns:?}");
    // runc 1.1.5 keeps the exec'd process's connection open (until its `exec` ends),
    // against "it MUST be closed after sending"; the agent then goes by the JSON's end.
    let must_close = [true, !f.rt.is_runc()];
    for (conn, must_close) in conns.iter().zip(must_close) {
        check_conn(conn, &id, must_close);
        assert_eq!(conn.state["state"]["pid"].as_u64(), Some(pid), "{conn:?}");
    }
    let (init, exec_conn) = (&conns[0].state, &conns[1].state);
    assert_eq!(init["pid"].as_u64(), Some(pid), "{init}");
    let status = init["state"]["status"].as_str().unwrap_or("");
    assert!(status == "creating" || status == "running", "{init}");
    assert_eq!(exec_conn["state"]["status"], "running", "{exec_conn}");
    assert_ne!(exec_conn["pid"].as_u64(), Some(pid), "{exec_conn}");
    assert_eq!(conns[1].seen.len(), 1, "{conns:?}");

    assert!(exec.success(), "{exec}");
    let report = exec.json().expect("probe report");
    assert_eq!(
        mkdir_result(&report, "/from-exec"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );

    f.rt.wait_status(&id, "stopped", Duration::from_secs(10))
        .expect("stopped");
    delete_leaving_nothing(&f, &id);
}

/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` reaches the kernel with the listener: the
/// filter loads, the agent gets the listener and its answer reaches the container.
/// (runc 1.1 does not know the flag.)
#[test]
fn notify_with_wait_killable_recv_flag() {
    let mut f = Fixture::new(&["/bin/probe", "mkdir", "/refused"]).expect("fixture");
    if f.rt.is_runc() {
        return;
    }
    let agent = Agent::spawn(vec![vec![("/refused", Answer::Errno(libc::EXDEV))]]);
    let mut profile = notify_profile(&agent.path());
    profile["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    f.bundle.config_mut()["linux"]["seccomp"] = profile;
    let id = unique_id("notify-waitkill");
    let Served { conns, report, .. } = serve_container(&f, &id, agent);

    assert_eq!(conns.len(), 1, "{conns:?}");
    check_conn(&conns[0], &id, true);
    assert_eq!(
        mkdir_result(&report, "/refused"),
        (false, Some(i64::from(libc::EXDEV)), false),
        "{report}"
    );
    delete_leaving_nothing(&f, &id);
}
