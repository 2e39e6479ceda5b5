//! Hooks: each kind runs at the spec's moment, in the spec's namespaces, with the state JSON
//! on stdin; `timeout` is honoured; failures fail the operation (or only warn) as the
//! runtime-spec says, and a failed create leaves nothing behind.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_conformance::{host_ns, read_file, unique_id, Fixture, TOKEN_VAR};

const WAIT: Duration = Duration::from_secs(10);

/// Records, for the hook named by `$1`, its stdin (the state JSON) and its mount and pid
/// namespaces into the directory `$2`, and appends the name to `$2/order`.
const RECORD: &str = r#"#!/bin/sh
cat > "$2/$1.state"
readlink /proc/self/ns/mnt > "$2/$1.mnt"
readlink /proc/self/ns/pid > "$2/$1.pid"
echo "$1" >> "$2/order"
"#;

fn write_script(path: &Path, body: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("hook dir");
    }
    std::fs::write(path, body).expect("write hook");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod hook");
}

/// A hook entry that carries the leak-check token in its environment, so a hook process
/// left running is found by the leak check.
fn hook(f: &Fixture, path: &Path, args: &[&str], timeout: Option<u64>) -> Value {
    let mut h = json!({
        "path": path.to_string_lossy(),
        "args": args,
        "env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            format!("{TOKEN_VAR}={}", f.bundle.token()),
        ],
    });
    if let Some(t) = timeout {
        h["timeout"] = json!(t);
    }
    h
}

fn read_trim(path: &Path) -> String {
    read_file(path).expect("hook output").trim().to_string()
}

fn ns_of(pid: i64, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .expect("container ns")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn hooks_run_at_their_moments_in_their_namespaces() {
    let mut f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let host_script = f.bundle.path().join("hooks/record.sh");
    let host_out = f.bundle.path().join("hookout");
    write_script(&host_script, RECORD);
    std::fs::create_dir_all(&host_out).expect("hook out dir");
    // startContainer runs after pivot_root, inside the container: its path and what it
    // writes are in the rootfs.
    write_script(&f.bundle.rootfs().join("hooks/record.sh"), RECORD);
    let in_out = f.bundle.rootfs().join("hookout");
    std::fs::create_dir_all(&in_out).expect("hook out dir in rootfs");

    let out_s = host_out.to_string_lossy().into_owned();
    let mut hooks = serde_json::Map::new();
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        let h = hook(&f, &host_script, &["record.sh", kind, &out_s], None);
        hooks.insert(kind.to_string(), json!([h]));
    }
    let start_hook = hook(
        &f,
        Path::new("/hooks/record.sh"),
        &["record.sh", "startContainer", "/hookout"],
        None,
    );
    hooks.insert("startContainer".to_string(), json!([start_hook]));
    f.bundle.config_mut()["hooks"] = Value::Object(hooks);

    let id = unique_id("hooks");
    let done = |kind: &str| host_out.join(format!("{kind}.state")).exists();
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    for kind in ["prestart", "createRuntime", "createContainer"] {
        assert!(done(kind), "{kind} has run when create returns");
    }
    assert!(
        !in_out.join("startContainer.state").exists(),
        "not before start"
    );
    // runc 1.1 runs poststart at the end of create, not of start (see README).
    assert!(
        f.rt.is_runc() || !done("poststart"),
        "poststart not before start"
    );
    assert!(!done("poststop"));
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_i64()
        .expect("pid");
    let (c_mnt, c_pid) = (ns_of(pid, "mnt"), ns_of(pid, "pid"));
    let (h_mnt, h_pid) = (
        host_ns("mnt").expect("host mnt"),
        host_ns("pid").expect("pid"),
    );

    assert!(f.rt.start(&id).expect("start").success());
    assert!(
        in_out.join("startContainer.state").exists(),
        "startContainer ran"
    );
    assert!(done("poststart"), "poststart has run when start returns");
    assert!(!done("poststop"));
    assert!(f.rt.kill(&id, "KILL").expect("kill").success());
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let del = f.rt.delete(&id).expect("delete");
    assert!(del.success(), "{del}");
    assert!(done("poststop"), "poststop has run when delete returns");

    let bundle = std::fs::canonicalize(f.bundle.path()).expect("bundle path");
    let dir_of = |kind: &str| -> PathBuf {
        if kind == "startContainer" {
            in_out.clone()
        } else {
            host_out.clone()
        }
    };
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let dir = dir_of(kind);
        let text = read_file(&dir.join(format!("{kind}.state"))).expect("state on stdin");
        let state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{kind}: state JSON on stdin ({e}): {text:?}"));
        assert_eq!(state["id"], json!(id), "{kind}: {state}");
        assert_eq!(
            state["bundle"]
                .as_str()
                .map(|b| std::fs::canonicalize(b).ok()),
            Some(Some(bundle.clone())),
            "{kind}: {state}"
        );
        assert!(state["ociVersion"].is_string(), "{kind}: {state}");
        // runc 1.1 gives the hooks run from its init the pid as seen in the container
        // (1); the runtime-spec says "as seen by the host" (see README).
        let runc_in_init = f.rt.is_runc() && matches!(kind, "createContainer" | "startContainer");
        if kind != "poststop" && !runc_in_init {
            assert_eq!(state["pid"].as_i64(), Some(pid), "{kind}: {state}");
        }
        let (mnt, pidns) = (
            read_trim(&dir.join(format!("{kind}.mnt"))),
            read_trim(&dir.join(format!("{kind}.pid"))),
        );
        let in_container = matches!(kind, "createContainer" | "startContainer");
        let (want_mnt, want_pid) = if in_container {
            (&c_mnt, &c_pid)
        } else {
            (&h_mnt, &h_pid)
        };
        assert_eq!(&mnt, want_mnt, "{kind}: mount namespace");
        assert_eq!(&pidns, want_pid, "{kind}: pid namespace");
    }
    let order = read_file(&host_out.join("order")).expect("order");
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        vec![
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A hook that sleeps past its `timeout` fails create within a few seconds, and the hook
/// process is not left behind.
#[test]
fn hook_timeout_fails_create() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    let script = f.bundle.path().join("hooks/sleep.sh");
    // `exec`: the hook process itself sleeps (runc waits for the hook's stdout and
    // stderr to close, so a child of the hook holding them would make it hang).
    write_script(&script, "#!/bin/sh\nexec sleep 30\n");
    let h = hook(&f, &script, &["sleep.sh"], Some(1));
    f.bundle.config_mut()["hooks"] = json!({ "createRuntime": [h] });
    let id = unique_id("hooktimeout");
    let start = Instant::now();
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(!out.success(), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "timeout 1 honoured: {out}"
    );
    assert!(out.stderr.contains("hook"), "names the hook: {out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// prestart, createRuntime and createContainer failing fail create with an error that
/// names the hook, and leave nothing.
#[test]
fn failing_create_hooks_fail_create() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
        let script = f.bundle.path().join("hooks/fail.sh");
        write_script(&script, "#!/bin/sh\necho hook-said-no >&2\nexit 3\n");
        let h = hook(&f, &script, &["fail.sh"], None);
        f.bundle.config_mut()["hooks"] = json!({ kind: [h] });
        let id = unique_id("hookfail");
        let out = f.rt.create(&id, &f.bundle).expect("create");
        assert!(!out.success(), "{kind}: {out}");
        assert_eq!(out.code(), Some(1), "{kind}: {out}");
        assert!(out.stderr.contains("hook"), "{kind}: names the hook: {out}");
        if !f.rt.is_runc() {
            assert!(
                out.stderr.contains(kind) || out.stderr.contains("fail.sh"),
                "{kind}: names the hook kind or path: {out}"
            );
        }
        assert_eq!(f.rt.status(&id), None, "{kind}: no state");
        assert_eq!(f.leaks(&id), Vec::<String>::new(), "{kind}");
    }
}

/// A failing poststart hook only warns (runtime-spec): start succeeds and the container
/// runs. runc 1.1 instead fails start and kills the container (see README).
#[test]
fn failing_poststart_hook_only_warns() {
    let mut f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let script = f.bundle.path().join("hooks/fail.sh");
    write_script(&script, "#!/bin/sh\nexit 3\n");
    let h = hook(&f, &script, &["fail.sh"], None);
    f.bundle.config_mut()["hooks"] = json!({ "poststart": [h] });
    let id = unique_id("poststartfail");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    if f.rt.is_runc() {
        // runc 1.1 runs poststart in create, and fails it.
        assert!(!out.success(), "runc 1.1 fails create: {out}");
    } else {
        assert!(out.success(), "{out}");
        let out = f.rt.start(&id).expect("start");
        assert!(out.success(), "{out}");
        assert!(out.stderr.contains("hook"), "warns: {out}");
        assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
        assert!(f.rt.delete_force(&id).expect("delete --force").success());
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A failing poststop hook only warns: delete succeeds and removes the container.
#[test]
fn failing_poststop_hook_only_warns() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    let script = f.bundle.path().join("hooks/fail.sh");
    write_script(&script, "#!/bin/sh\nexit 3\n");
    let h = hook(&f, &script, &["fail.sh"], None);
    f.bundle.config_mut()["hooks"] = json!({ "poststop": [h] });
    let id = unique_id("poststopfail");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("hook"), "warns: {out}");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A failing startContainer hook stops the container before the user process runs
/// (runtime-spec lifecycle step 7); it is then deleted without leaks. The hook runs in the
/// container's init after `start` signalled it, so runc's `start` returns 0 regardless,
/// and so may skiff's.
#[test]
fn failing_start_container_hook_fails_start() {
    let mut f = Fixture::new(&["/bin/touch", "/user-process-ran"]).expect("fixture");
    write_script(
        &f.bundle.rootfs().join("hooks/fail.sh"),
        "#!/bin/sh\nexit 3\n",
    );
    let h = hook(&f, Path::new("/hooks/fail.sh"), &["fail.sh"], None);
    f.bundle.config_mut()["hooks"] = json!({ "startContainer": [h] });
    let id = unique_id("startcfail");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let out = f.rt.start(&id).expect("start");
    assert!(matches!(out.code(), Some(0 | 1)), "{out}");
    let deadline = Instant::now() + WAIT;
    let mut status = f.rt.status(&id);
    while status.as_deref() != Some("stopped") && status.is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        status = f.rt.status(&id);
    }
    assert!(
        matches!(status.as_deref(), None | Some("stopped")),
        "stopped: {status:?}"
    );
    assert!(
        !f.bundle.rootfs().join("user-process-ran").exists(),
        "the user process did not run"
    );
    let _ = f.rt.delete_force(&id).expect("delete --force");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A hook whose binary does not exist fails create, naming the hook, and leaves nothing.
#[test]
fn missing_hook_binary_fails_create() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    let missing = f.bundle.path().join("hooks/no-such-hook");
    let h = hook(&f, &missing, &["no-such-hook"], None);
    f.bundle.config_mut()["hooks"] = json!({ "createRuntime": [h] });
    let id = unique_id("hookmissing");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("hook"), "{out}");
    if !f.rt.is_runc() {
        assert!(out.stderr.contains("no-such-hook"), "names the path: {out}");
    }
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
