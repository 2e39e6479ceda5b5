//! `linux.seccomp` through a whole container: NOTIFY profiles that cannot work are refused
//! with the field or path named, and leave nothing behind.
#![allow(clippy::expect_used, clippy::panic)]

use serde_json::json;
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
