//! `exec`: its flags (--user, --additional-gids, --env, --cwd, --cap, --no-new-privs,
//! --process), descriptors (none of the runtime's; --preserve-fds), and refusals.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::fd::OwnedFd;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{cap_mask, probe_caps, probe_fds, unique_id, Fixture, Opts, DEFAULT_CAPS};

const WAIT: Duration = Duration::from_secs(10);

/// A running container of `f` (init sleeps), its id and init pid.
fn running(f: &Fixture, tag: &str) -> (String, i64) {
    let id = unique_id(tag);
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_i64()
        .expect("pid");
    (id, pid)
}

fn probe_exec(f: &Fixture, id: &str, flags: &[&str]) -> Value {
    let out = f.rt.exec(id, flags, &["/bin/probe"]).expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    out.json().expect("probe JSON")
}

fn finish(f: &Fixture, id: &str) {
    assert!(f.rt.delete_force(id).expect("delete --force").success());
    assert_eq!(f.leaks(id), Vec::<String>::new());
}

#[test]
fn exec_user_groups_env_cwd() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let (id, pid) = running(&f, "execuser");
    let r = probe_exec(
        &f,
        &id,
        &[
            "--user",
            "1000:1001",
            "--additional-gids",
            "10",
            "--env",
            "EXTRA=x y",
            "--env",
            "TERM=dumb",
            "--cwd",
            "/tmp",
        ],
    );
    assert_eq!(
        (r["uid"].as_u64(), r["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(
        (r["gid"].as_u64(), r["egid"].as_u64()),
        (Some(1001), Some(1001))
    );
    let groups: Vec<u64> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(Value::as_u64)
        .filter(|g| *g != 1001)
        .collect();
    assert_eq!(groups, vec![10], "{}", r["groups"]);
    assert_eq!(r["env"]["EXTRA"], "x y");
    assert_eq!(r["env"]["TERM"], "dumb", "--env overrides the config's");
    assert_eq!(
        r["env"]["PATH"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "the config's env is kept"
    );
    assert_eq!(r["cwd"], "/tmp");
    let init_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("ns");
    assert_eq!(
        r["namespaces"]["pid"].as_str(),
        Some(init_ns.to_string_lossy().as_ref())
    );
    // A uid alone: gid 0.
    let r = probe_exec(&f, &id, &["-u", "1000"]);
    assert_eq!(
        (r["uid"].as_u64(), r["gid"].as_u64()),
        (Some(1000), Some(0))
    );
    finish(&f, &id);
}

#[test]
fn exec_cap_adds_a_capability() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let (id, _) = running(&f, "execcap");
    let r = probe_exec(&f, &id, &[]);
    assert_eq!(probe_caps(&r, "bounding"), Some(cap_mask(DEFAULT_CAPS)));
    let r = probe_exec(&f, &id, &["--cap", "CAP_SYS_ADMIN"]);
    let mut want: Vec<&str> = DEFAULT_CAPS.to_vec();
    want.push("CAP_SYS_ADMIN");
    for set in ["bounding", "permitted", "effective"] {
        assert_eq!(
            probe_caps(&r, set),
            Some(cap_mask(&want)),
            "{set}: {}",
            r["capabilities"]
        );
    }
    finish(&f, &id);
}

#[test]
fn exec_no_new_privs() {
    let mut f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    f.bundle.config_mut()["process"]["noNewPrivileges"] = json!(false);
    let (id, _) = running(&f, "execnnp");
    assert_eq!(probe_exec(&f, &id, &[])["no_new_privs"], false);
    assert_eq!(
        probe_exec(&f, &id, &["--no-new-privs"])["no_new_privs"],
        true
    );
    finish(&f, &id);
}

#[test]
fn exec_process_file() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let (id, _) = running(&f, "execproc");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("process.json");
    let process = json!({
        "terminal": false,
        "user": { "uid": 1000, "gid": 1000 },
        "args": ["/bin/probe", "info", "from-file"],
        "env": ["PATH=/bin", "FROM_FILE=1"],
        "cwd": "/tmp",
    });
    std::fs::write(&path, process.to_string()).expect("write process.json");
    let p = path.to_string_lossy().into_owned();
    let out = f.rt.exec(&id, &["--process", &p], &[]).expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    assert_eq!(r["args"], json!(["/bin/probe", "info", "from-file"]));
    assert_eq!(r["env"]["FROM_FILE"], "1");
    assert_eq!(r["env"]["PATH"], "/bin");
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(r["uid"], 1000);
    finish(&f, &id);
}

/// No descriptor of the runtime reaches an exec'd process, even one the runtime inherited;
/// `--preserve-fds` passes exactly the ones asked for.
#[test]
fn exec_gets_no_runtime_fds() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let (id, _) = running(&f, "execfds");
    let extra = || {
        vec![
            OwnedFd::from(tempfile::tempfile().expect("temp file")),
            OwnedFd::from(tempfile::tempfile().expect("temp file")),
        ]
    };
    let mut args = vec!["exec", id.as_str(), "/bin/probe", "fds"];
    let out =
        f.rt.invoke(
            &args,
            Opts {
                extra_fds: extra(),
                ..Opts::default()
            },
        )
        .expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "{}", fds["fds"]);

    args.splice(1..1, ["--preserve-fds", "1"]);
    let out =
        f.rt.invoke(
            &args,
            Opts {
                extra_fds: extra(),
                ..Opts::default()
            },
        )
        .expect("exec");
    assert_eq!(out.code(), Some(0), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2, 3], "{}", fds["fds"]);
    finish(&f, &id);
}

/// exec into a stopped container fails as runc's does (status 255) and changes nothing.
#[test]
fn exec_into_a_stopped_container_fails_with_255() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let id = unique_id("execstopped");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let out = f.rt.exec(&id, &[], &["/bin/probe"]).expect("exec");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(out.stdout.is_empty(), "nothing ran: {out}");
    assert_eq!(f.rt.status(&id).as_deref(), Some("stopped"));
    assert!(f.rt.delete(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
