//! The command line beyond the lifecycle verbs: `spec`, `features`, `list` formats, JSON
//! logs, options after the container id, `--pid-file`, `kill --all`, exit codes and
//! `--version`.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{
    cap_mask, probe_caps, probe_mount, read_file, unique_id, Fixture, Runtime, TOKEN_VAR,
};

const WAIT: Duration = Duration::from_secs(10);
const RUNC: &str = "/usr/sbin/runc";

/// Every key path of a JSON value (`/process/capabilities/bounding`, arrays as `[]`).
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}/{k}");
                out.insert(p.clone());
                key_paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                key_paths(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// A copy with every array of strings sorted (capability lists come in any order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), sorted(x))).collect()),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let mut a = a.clone();
            a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
            Value::Array(a)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn spec_of(bin: &Path, dir: &Path) -> Value {
    let out = std::process::Command::new(bin)
        .args(["spec", "--bundle"])
        .arg(dir)
        .output()
        .expect("spec");
    assert!(out.status.success(), "{out:?}");
    let text = read_file(&dir.join("config.json")).expect("config.json");
    serde_json::from_str(&text).expect("spec writes JSON")
}

#[test]
fn spec_writes_a_runc_like_config_and_refuses_to_overwrite() {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    let out = rt.cmd(&["spec", "--bundle", &d]).expect("spec");
    assert_eq!(out.code(), Some(0), "{out}");
    let path = dir.path().join("config.json");
    let text = read_file(&path).expect("config.json written");
    let spec: Value = serde_json::from_str(&text).expect("spec is JSON");

    if Path::new(RUNC).exists() {
        let rdir = tempfile::tempdir().expect("dir");
        let runc = spec_of(Path::new(RUNC), rdir.path());
        let (mut ours, mut theirs) = (BTreeSet::new(), BTreeSet::new());
        key_paths(&spec, "", &mut ours);
        key_paths(&runc, "", &mut theirs);
        assert_eq!(ours, theirs, "the same keys as `runc spec`");
        for field in [
            "/process/capabilities",
            "/process/rlimits",
            "/process/args",
            "/root",
            "/mounts",
            "/linux/maskedPaths",
            "/linux/readonlyPaths",
            "/linux/namespaces",
            "/process/noNewPrivileges",
            "/process/terminal",
        ] {
            assert_eq!(
                spec.pointer(field).map(sorted),
                runc.pointer(field).map(sorted),
                "{field}"
            );
        }
    }

    // A second `spec` refuses to overwrite and leaves the file alone.
    std::fs::write(&path, "{\"mine\":1}").expect("rewrite");
    let out = rt.cmd(&["spec", "--bundle", &d]).expect("spec again");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("exists"), "{out}");
    assert_eq!(read_file(&path).expect("file"), "{\"mine\":1}");
}

/// The `spec` config runs as it is (but for the terminal) on a busybox rootfs, and the
/// process sees what it says.
#[test]
fn spec_config_runs() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    assert!(f.rt.cmd(&["spec", "--bundle", &d]).expect("spec").success());
    let mut spec: Value =
        serde_json::from_str(&read_file(&dir.path().join("config.json")).expect("read"))
            .expect("JSON");
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["/bin/probe"]);
    spec["process"]["env"]
        .as_array_mut()
        .expect("env")
        .push(json!(format!("{TOKEN_VAR}={}", f.bundle.token())));
    let text = serde_json::to_string(&spec).expect("serialize");
    f.bundle.write_raw_config(&text).expect("write");
    let id = unique_id("specrun");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    let caps: Vec<&str> = spec["process"]["capabilities"]["bounding"]
        .as_array()
        .expect("bounding")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(probe_caps(&r, "bounding"), Some(cap_mask(&caps)));
    assert_eq!(r["hostname"], spec["hostname"]);
    assert_eq!(r["pid"], 1);
    assert!(
        probe_mount(&r, "/sys/fs/cgroup").is_some(),
        "{}",
        r["mounts"]
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn features_lists_what_is_supported() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let out = f.rt.cmd(&["features"]).expect("features");
    assert_eq!(out.code(), Some(0), "{out}");
    let feat = out.json().expect("features JSON");
    for k in ["ociVersionMin", "ociVersionMax"] {
        assert!(
            feat[k].as_str().is_some_and(|v| v.starts_with("1.")),
            "{k}: {feat}"
        );
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let hooks = strings(&feat["hooks"]);
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.iter().any(|x| x == h), "hooks has {h}: {feat}");
    }
    let caps = strings(&feat["linux"]["capabilities"]);
    for c in ["CAP_SYS_ADMIN", "CAP_KILL", "CAP_NET_BIND_SERVICE"] {
        assert!(caps.iter().any(|x| x == c), "capabilities has {c}");
    }
    let namespaces = strings(&feat["linux"]["namespaces"]);
    for ns in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(namespaces.iter().any(|x| x == ns), "namespaces has {ns}");
    }
    let options = strings(&feat["mountOptions"]);
    assert!(!options.is_empty(), "mountOptions: {feat}");

    // Listed means working: one container with every listed namespace (but user, which
    // needs mappings) and a tmpfs mount per listed mount flag that a tmpfs takes.
    let nss: Vec<Value> = namespaces
        .iter()
        .filter(|ns| ns.as_str() != "user")
        .map(|ns| json!({ "type": ns }))
        .collect();
    f.bundle.config_mut()["linux"]["namespaces"] = Value::Array(nss);
    let flags = [
        ("ro", "ro"),
        ("nosuid", "nosuid"),
        ("nodev", "nodev"),
        ("noexec", "noexec"),
        ("noatime", "noatime"),
        ("strictatime", ""),
        ("relatime", "relatime"),
        ("nosymfollow", "nosymfollow"),
        ("rro", "ro"),
        ("rnosuid", "nosuid"),
        ("rnodev", "nodev"),
        ("rnoexec", "noexec"),
        ("sync", ""),
        ("dirsync", ""),
    ];
    let mut tested = Vec::new();
    for (opt, shown) in flags {
        if !options.iter().any(|o| o == opt) {
            continue;
        }
        f.bundle.config_mut()["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(json!({
                "destination": format!("/mnt/{opt}"),
                "type": "tmpfs",
                "source": "tmpfs",
                "options": [opt],
            }));
        tested.push((opt, shown));
    }
    let id = unique_id("features");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    for ns in namespaces.iter().filter(|ns| ns.as_str() != "user") {
        let name = match ns.as_str() {
            "mount" => "mnt",
            "network" => "net",
            other => other,
        };
        assert!(
            r["namespaces"][name].is_string(),
            "{ns} namespace seen: {}",
            r["namespaces"]
        );
        let host = skiff_conformance::host_ns(name);
        assert_ne!(
            r["namespaces"][name].as_str(),
            host.as_deref(),
            "{ns} is new"
        );
    }
    for (opt, shown) in tested {
        let m = probe_mount(&r, &format!("/mnt/{opt}"))
            .unwrap_or_else(|| panic!("/mnt/{opt} mounted: {}", r["mounts"]));
        // runc 1.1 lists the recursive flags but does not apply them to a tmpfs.
        let runc_recursive = f.rt.is_runc() && opt.starts_with('r') && opt != "relatime";
        if !shown.is_empty() && !runc_recursive {
            assert!(
                m["options"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|x| x == shown)),
                "{opt}: {m}"
            );
        }
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn list_table_json_and_quiet() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let empty = f.rt.list().expect("list");
    assert!(empty.success(), "{empty}");
    // runc prints `null` for no containers, an empty array is as good.
    assert!(
        matches!(empty.json().expect("JSON"), Value::Null)
            || empty.json().expect("JSON") == json!([]),
        "{empty}"
    );
    let (a, b) = (unique_id("lista"), unique_id("listb"));
    assert!(f.rt.create(&a, &f.bundle).expect("create").success());
    assert!(f.rt.create(&b, &f.bundle).expect("create").success());
    assert!(f.rt.start(&b).expect("start").success());
    f.rt.wait_status(&b, "running", WAIT).expect("running");
    let pid_a = f.rt.state_json(&a).expect("state")["pid"].clone();

    let out = f.rt.cmd(&["list"]).expect("list");
    assert_eq!(out.code(), Some(0), "{out}");
    let mut rows = out.stdout.lines();
    let header: Vec<&str> = rows.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        vec!["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{out}"
    );
    let row_a: Vec<&str> = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{a} ")))
        .unwrap_or_else(|| panic!("row for {a}: {out}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row_a.get(1).copied(),
        pid_a.to_string().as_str().into(),
        "{out}"
    );
    assert_eq!(row_a.get(2).copied(), Some("created"), "{out}");
    let bundle = std::fs::canonicalize(f.bundle.path()).expect("bundle");
    assert_eq!(
        row_a.get(3).copied(),
        Some(bundle.to_string_lossy().as_ref()),
        "{out}"
    );
    assert_eq!(row_a.last().copied(), Some("root"), "owner: {out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{b} ")) && l.contains(" running ")),
        "{out}"
    );

    let out = f.rt.cmd(&["list", "--format", "json"]).expect("list json");
    let list = out.json().expect("JSON");
    let entries = list.as_array().expect("array");
    assert_eq!(entries.len(), 2, "{list}");
    for e in entries {
        for k in ["id", "pid", "status", "bundle", "created", "owner"] {
            assert!(!e[k].is_null(), "{k} in {e}");
        }
    }

    for flag in ["-q", "--quiet"] {
        let out = f.rt.cmd(&["list", flag]).expect("list -q");
        assert_eq!(out.code(), Some(0), "{out}");
        let mut ids: Vec<&str> = out.stdout.lines().collect();
        ids.sort_unstable();
        let mut want = vec![a.as_str(), b.as_str()];
        want.sort_unstable();
        assert_eq!(ids, want, "{out}");
    }
    for id in [&a, &b] {
        assert!(f.rt.delete_force(id).expect("delete").success());
    }
    // Both containers share the bundle (and its leak token): check after both are gone.
    for id in [&a, &b] {
        assert_eq!(f.leaks(id), Vec::<String>::new());
    }
}

/// `--log FILE --log-format json`: an error is one JSON line with level, msg and time, as
/// runc writes it (containerd parses it).
#[test]
fn json_log_on_error() {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("log.json");
    let l = log.to_string_lossy().into_owned();
    let out = rt
        .cmd(&["--log", &l, "--log-format", "json", "state", "nosuch"])
        .expect("state");
    assert_eq!(out.code(), Some(1), "{out}");
    let text = read_file(&log).expect("log written");
    let line = text
        .lines()
        .find(|l| l.contains("\"error\""))
        .unwrap_or_else(|| panic!("an error line: {text:?}"));
    let v: Value = serde_json::from_str(line).expect("a JSON line");
    assert_eq!(v["level"], "error", "{v}");
    assert!(
        v["msg"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{v}"
    );
    assert!(
        v["time"]
            .as_str()
            .is_some_and(|t| t.len() >= 20 && t.contains('T')),
        "RFC 3339 time: {v}"
    );

    // The default (text) format: logrus's `level=error msg="..."`.
    let tlog = dir.path().join("log.txt");
    let t = tlog.to_string_lossy().into_owned();
    let out = rt.cmd(&["--log", &t, "state", "nosuch"]).expect("state");
    assert_eq!(out.code(), Some(1), "{out}");
    let text = read_file(&tlog).expect("log written");
    assert!(
        text.contains("level=error") && text.contains("msg="),
        "{text:?}"
    );
}

/// Options may come after the container id, as runc (urfave/cli) allows.
#[test]
fn options_after_the_container_id() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    f.bundle.write_config().expect("config");
    let b = f.bundle.path().to_string_lossy().into_owned();
    let id = unique_id("argorder");
    let out = f.rt.cmd(&["create", &id, "--bundle", &b]).expect("create");
    assert_eq!(out.code(), Some(0), "create ID --bundle B: {out}");
    assert_eq!(f.rt.status(&id).as_deref(), Some("created"));
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let out = f.rt.cmd(&["kill", &id, "KILL"]).expect("kill");
    assert_eq!(out.code(), Some(0), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    let out = f.rt.cmd(&["delete", &id, "--force"]).expect("delete");
    assert_eq!(out.code(), Some(0), "delete ID --force: {out}");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // And `-b` before the id.
    let id = unique_id("argorder");
    let out = f.rt.cmd(&["create", "-b", &b, &id]).expect("create");
    assert_eq!(out.code(), Some(0), "{out}");
    let out = f.rt.cmd(&["delete", "-f", &id]).expect("delete");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn pid_file_of_create_and_exec() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let dir = tempfile::tempdir().expect("dir");
    let pf = dir.path().join("init.pid");
    let id = unique_id("pidfile");
    let out =
        f.rt.create_with(&id, &f.bundle, &["--pid-file", &pf.to_string_lossy()])
            .expect("create");
    assert!(out.success(), "{out}");
    let pid: i64 = read_file(&pf)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a number");
    assert_eq!(
        f.rt.state_json(&id).expect("state")["pid"].as_i64(),
        Some(pid)
    );
    assert!(f.rt.start(&id).expect("start").success());

    let epf = dir.path().join("exec.pid");
    let out =
        f.rt.exec(
            &id,
            &["-d", "--pid-file", &epf.to_string_lossy()],
            &["/bin/probe", "sleep", "60"],
        )
        .expect("exec");
    assert!(out.success(), "{out}");
    let epid: i64 = read_file(&epf)
        .expect("exec pid file")
        .trim()
        .parse()
        .expect("a number");
    assert_ne!(epid, pid);
    let ns = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/pid")).expect("ns");
    assert_eq!(ns(epid), ns(pid), "the exec'd pid is in the container");
    let cmdline = std::fs::read(format!("/proc/{epid}/cmdline")).expect("cmdline");
    assert!(cmdline.starts_with(b"/bin/probe\0sleep"), "{cmdline:?}");
    assert!(f.rt.delete_force(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `kill --all` signals every process of the container, not only init: without a pid
/// namespace of its own a background child would outlive init otherwise.
#[test]
fn kill_all_reaches_every_process() {
    let mut f = Fixture::new(&[
        "/bin/sh",
        "-c",
        "/bin/probe sleep 20 & exec /bin/probe sleep 20",
    ])
    .expect("fixture");
    f.bundle.config_mut()["linux"]["namespaces"] =
        json!([{ "type": "mount" }, { "type": "ipc" }, { "type": "uts" }]);
    let id = unique_id("killall");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    std::thread::sleep(Duration::from_millis(200));
    let out =
        f.rt.cmd(&["kill", "--all", &id, "KILL"])
            .expect("kill --all");
    assert_eq!(out.code(), Some(0), "{out}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    // Before delete (which may kill what is left): no process of the container remains.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let procs = loop {
        let left: Vec<String> = f
            .leaks(&id)
            .into_iter()
            .filter(|l| l.starts_with("process left"))
            .collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(procs, Vec::<String>::new(), "kill --all left processes");
    assert!(f.rt.delete(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn errors_exit_with_status_one() {
    let rt = Runtime::new().expect("runtime");
    for args in [
        vec!["state", "nosuch"],
        vec!["start", "nosuch"],
        vec!["kill", "nosuch", "KILL"],
        vec!["delete", "nosuch"],
        vec!["create", "--bundle", "/nonexistent-skiff-bundle", "nosuch"],
    ] {
        let out = rt.cmd(&args).expect("runtime");
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(!out.stderr.is_empty(), "says why: {out}");
    }
    // runc's exec fails with 255 (its own status space is the process's).
    let out = rt.cmd(&["exec", "nosuch", "/bin/true"]).expect("exec");
    assert_eq!(out.code(), Some(255), "{out}");
}

#[test]
fn version_flag() {
    let rt = Runtime::new().expect("runtime");
    for flag in ["--version", "-v"] {
        let out = rt.cmd(&[flag]).expect("version");
        assert_eq!(out.code(), Some(0), "{out}");
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(first.contains(" version "), "{out}");
        assert!(
            out.stdout.lines().any(|l| l.starts_with("spec: 1.")),
            "the runtime-spec version: {out}"
        );
    }
}

/// `--systemd-cgroup` is accepted but, until implemented, fails with a clear message and
/// leaves nothing (runc implements it: skiff only). `--rootless true` as root runs (the
/// cgroups can be made, so nothing is skipped) and leaves nothing, as runc.
#[test]
fn unsupported_global_flags_fail_clearly() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.write_config().expect("config");
    let b = f.bundle.path().to_string_lossy().into_owned();
    let id = unique_id("rootlesstrue");
    let out =
        f.rt.cmd(&["--rootless", "true", "run", "--bundle", &b, &id])
            .expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    if f.rt.is_runc() {
        return;
    }
    let id = unique_id("unsupported");
    let out =
        f.rt.cmd(&["--systemd-cgroup", "run", "--bundle", &b, &id])
            .expect("run");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("systemd"), "{out}");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `run -d` returns with the container running; `run --keep` leaves the stopped container
/// for `state` and `delete`.
#[test]
fn run_detach_and_keep() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("rundetach");
    let out =
        f.rt.run_with(&id, &f.bundle, &["-d"], Default::default())
            .expect("run -d");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    assert!(f.rt.delete_force(&id).expect("delete").success());
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    let g = Fixture::new(&["/bin/probe", "exit", "4"]).expect("fixture");
    let id = unique_id("runkeep");
    let out =
        g.rt.run_with(&id, &g.bundle, &["--keep"], Default::default())
            .expect("run --keep");
    assert_eq!(out.code(), Some(4), "{out}");
    assert_eq!(g.rt.status(&id).as_deref(), Some("stopped"), "kept");
    assert!(g.rt.delete(&id).expect("delete").success());
    assert_eq!(g.rt.status(&id), None);
    assert_eq!(g.leaks(&id), Vec::<String>::new());
}

/// `kill` takes a signal as `KILL`, `SIGKILL` or `9`; without one it sends SIGTERM.
#[test]
fn kill_signal_forms() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    for sig in ["KILL", "SIGKILL", "9"] {
        let id = unique_id("killform");
        assert!(f.rt.create(&id, &f.bundle).expect("create").success());
        assert!(f.rt.start(&id).expect("start").success());
        f.rt.wait_status(&id, "running", WAIT).expect("running");
        let out = f.rt.kill(&id, sig).expect("kill");
        assert_eq!(out.code(), Some(0), "{sig}: {out}");
        f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
        assert!(f.rt.delete(&id).expect("delete").success());
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    // Default SIGTERM: pid 1 ignores it unless it has a handler, so install one.
    let g = Fixture::new(&[
        "/bin/sh",
        "-c",
        "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
    ])
    .expect("fixture");
    let id = unique_id("killterm");
    assert!(g.rt.create(&id, &g.bundle).expect("create").success());
    assert!(g.rt.start(&id).expect("start").success());
    let deadline = std::time::Instant::now() + WAIT;
    while !g.rt.output(&id).0.contains("ready") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = g.rt.cmd(&["kill", &id]).expect("kill");
    assert_eq!(out.code(), Some(0), "{out}");
    g.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    assert!(
        g.rt.output(&id).0.contains("got-term"),
        "{:?}",
        g.rt.output(&id)
    );
    assert!(g.rt.delete(&id).expect("delete").success());
    assert_eq!(g.leaks(&id), Vec::<String>::new());
    // An unknown signal name fails plainly.
    let out = g.rt.cmd(&["kill", &id, "NOSUCHSIG"]).expect("kill");
    assert_eq!(out.code(), Some(1), "{out}");
}
