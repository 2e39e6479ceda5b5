//! More of the container's setup: joining another container's pid namespace, a time
//! namespace with offsets, `--no-pivot`, the session keyring (`--no-new-keyring`),
//! LISTEN_FDS/LISTEN_PID, domainname, rlimits above the hard limit, and concurrent
//! commands on one id.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use skiff_conformance::{
    host_ns, probe_fds, read_file, spawn_registered, unique_id, wait_spawned, Bundle, Fixture,
    MASKED_PATHS,
};

const WAIT: Duration = Duration::from_secs(10);

fn set_namespace(config: &mut Value, ty: &str, path: Option<&str>) {
    let nss = config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces");
    nss.retain(|ns| ns["type"] != ty);
    let mut ns = json!({ "type": ty });
    if let Some(p) = path {
        ns["path"] = json!(p);
    }
    nss.push(ns);
}

#[test]
fn joins_another_containers_pid_namespace() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let a = unique_id("pidnsa");
    assert!(f.rt.create(&a, &f.bundle).expect("create").success());
    assert!(f.rt.start(&a).expect("start").success());
    f.rt.wait_status(&a, "running", WAIT).expect("running");
    let pid = f.rt.state_json(&a).expect("state")["pid"]
        .as_i64()
        .expect("pid");
    let a_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid"))
        .expect("ns")
        .to_string_lossy()
        .into_owned();
    let path = format!("/proc/{pid}/ns/pid");

    let mut b = Bundle::new(&["/bin/probe"]).expect("bundle");
    set_namespace(b.config_mut(), "pid", Some(&path));
    let id = unique_id("pidnsb");
    let out = f.rt.run(&id, &b).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    assert_eq!(r["namespaces"]["pid"].as_str(), Some(a_ns.as_str()));
    assert!(r["pid"].as_u64().is_some_and(|p| p > 1), "not pid 1: {r}");
    assert_eq!(f.rt.leaks(&id, &b), Vec::<String>::new());

    // The other container's init is pid 1 there.
    b.args(&["/bin/probe", "cat", "/proc/1/cmdline"]);
    let id = unique_id("pidnsb");
    let out = f.rt.run(&id, &b).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "/bin/probe\0sleep\x0060\0", "{out}");
    assert_eq!(f.rt.leaks(&id, &b), Vec::<String>::new());

    assert_eq!(
        f.rt.status(&a).as_deref(),
        Some("running"),
        "a is untouched"
    );
    assert!(f.rt.delete_force(&a).expect("delete").success());
    assert_eq!(f.leaks(&a), Vec::<String>::new());
}

fn host_clock(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through the valid pointer.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(r, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// A new time namespace with `linux.timeOffsets`: the clocks inside are shifted. runc 1.1
/// has no time namespaces and refuses the config.
#[test]
fn time_namespace_with_offsets() {
    let mut f = Fixture::new(&["/bin/probe", "clocks"]).expect("fixture");
    set_namespace(f.bundle.config_mut(), "time", None);
    f.bundle.config_mut()["linux"]["timeOffsets"] = json!({
        "monotonic": { "secs": 86400, "nanosecs": 0 },
        "boottime": { "secs": 172800, "nanosecs": 0 },
    });
    let id = unique_id("timens");
    let (mono, boot) = (
        host_clock(libc::CLOCK_MONOTONIC),
        host_clock(libc::CLOCK_BOOTTIME),
    );
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if f.rt.is_runc() {
        assert!(!out.success(), "runc 1.1 knows no time namespace: {out}");
    } else {
        assert_eq!(out.code(), Some(0), "{out}");
        let r = out.json().expect("probe JSON");
        let inside = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k}: {r}"));
        let d_mono = inside("monotonic") - mono;
        let d_boot = inside("boottime") - boot;
        assert!(
            (86400.0..86400.0 + 10.0).contains(&d_mono),
            "monotonic +{d_mono}"
        );
        assert!(
            (172800.0..172800.0 + 10.0).contains(&d_boot),
            "boottime +{d_boot}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn time_namespace_is_new() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    set_namespace(f.bundle.config_mut(), "time", None);
    let id = unique_id("timens");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if !f.rt.is_runc() {
        assert_eq!(out.code(), Some(0), "{out}");
        let r = out.json().expect("probe JSON");
        let inside = r["namespaces"]["time"].as_str();
        assert!(inside.is_some(), "{}", r["namespaces"]);
        assert_ne!(inside, host_ns("time").as_deref());
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `--no-pivot`: chroot instead of pivot_root; the container still sees its rootfs at /.
#[test]
fn no_pivot_runs() {
    let f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let id = unique_id("nopivot");
    let out =
        f.rt.run_with(&id, &f.bundle, &["--no-pivot"], Default::default())
            .expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    assert_eq!(r["exe"], "/bin/probe");
    assert_eq!(r["cwd"], "/");
    assert_eq!(r["hostname"], "skiff-test");
    let mounts = r["mounts"].as_array().expect("mounts");
    assert!(
        mounts.iter().any(|m| m["mount_point"] == "/proc"),
        "{}",
        r["mounts"]
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

fn host_keys() -> String {
    read_file(std::path::Path::new("/proc/keys")).unwrap_or_default()
}

/// By default each container gets a session keyring `_ses.<id>` of its own (seen on the
/// host and inside); `--no-new-keyring` keeps the caller's.
#[test]
fn session_keyring_and_no_new_keyring() {
    for flag in [None, Some("--no-new-keyring")] {
        let mut f =
            Fixture::new(&["/bin/sh", "-c", "cat /proc/keys; exec sleep 60"]).expect("fixture");
        // /proc/keys is masked by default; unmask it to look from inside.
        let masked: Vec<&str> = MASKED_PATHS
            .iter()
            .copied()
            .filter(|p| *p != "/proc/keys")
            .collect();
        f.bundle.config_mut()["linux"]["maskedPaths"] = json!(masked);
        let id = unique_id("keyring");
        let flags: Vec<&str> = flag.into_iter().collect();
        assert!(f
            .rt
            .create_with(&id, &f.bundle, &flags)
            .expect("create")
            .success());
        assert!(f.rt.start(&id).expect("start").success());
        f.rt.wait_status(&id, "running", WAIT).expect("running");
        let name = format!("_ses.{id}");
        let deadline = std::time::Instant::now() + WAIT;
        while !f.rt.output(&id).0.contains('\n') && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let inside = f.rt.output(&id).0;
        if flag.is_none() {
            assert!(host_keys().contains(&name), "{name} on the host");
            assert!(inside.contains(&name), "{name} inside: {inside}");
        } else {
            assert!(!host_keys().contains(&name), "no {name} with {flag:?}");
            assert!(!inside.contains(&name), "{inside}");
        }
        assert!(f.rt.delete_force(&id).expect("delete").success());
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
}

/// Runs `sh -c 'LISTEN_PID=<pid> exec RUNTIME ...'` with LISTEN_FDS=1 and fd 3 open, where
/// <pid> is the runtime's own pid (`$$`, as exec keeps it) when `matching`.
fn run_with_listen_fds(f: &Fixture, id: &str, matching: bool) -> Value {
    f.bundle.write_config().expect("config");
    let extra = tempfile::tempfile().expect("temp file");
    let out = tempfile::tempfile().expect("temp file");
    let script = if matching {
        r#"LISTEN_PID=$$ exec "$0" "$@""#
    } else {
        r#"LISTEN_PID=1 exec "$0" "$@""#
    };
    let b = f.bundle.path().to_string_lossy().into_owned();
    let root = f.rt.root().to_string_lossy().into_owned();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .arg(f.rt.bin())
        .args(["--root", &root, "run", "--bundle", &b, id])
        .env("LISTEN_FDS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().expect("dup")))
        .stderr(Stdio::inherit());
    let fd = extra.as_raw_fd();
    // SAFETY: setsid and dup2 are async-signal-safe; the closure only copies an int.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = spawn_registered(&mut cmd).expect("spawn");
    let status = wait_spawned(&mut child, WAIT * 3).expect("run finishes");
    let text = {
        use std::io::{Read, Seek};
        let mut out = out;
        let mut s = String::new();
        out.rewind().expect("rewind");
        out.read_to_string(&mut s).expect("read output");
        s
    };
    assert_eq!(status.code(), Some(0), "{text}");
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("probe JSON ({e}): {text}"))
}

#[test]
fn listen_fds_pass_through() {
    let f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let id = unique_id("listen");
    let r = run_with_listen_fds(&f, &id, true);
    assert_eq!(probe_fds(&r), vec![0, 1, 2, 3], "{}", r["fds"]);
    assert_eq!(r["env"]["LISTEN_FDS"], "1", "{}", r["env"]);
    assert_eq!(r["env"]["LISTEN_PID"], "1", "{}", r["env"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // LISTEN_PID naming another process: the fds are not for the runtime; none pass.
    let id = unique_id("listen");
    let r = run_with_listen_fds(&f, &id, false);
    assert_eq!(probe_fds(&r), vec![0, 1, 2], "{}", r["fds"]);
    assert!(r["env"]["LISTEN_FDS"].is_null(), "{}", r["env"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn domainname_is_set() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    f.bundle.config_mut()["domainname"] = json!("skiff.example");
    let host_before =
        read_file(std::path::Path::new("/proc/sys/kernel/domainname")).expect("host domainname");
    let id = unique_id("domain");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let r = out.json().expect("probe JSON");
    if !f.rt.is_runc() {
        // runc 1.1 ignores `domainname` (it came in runc 1.2).
        assert_eq!(r["domainname"], "skiff.example");
    }
    assert_eq!(r["hostname"], "skiff-test");
    let host_after =
        read_file(std::path::Path::new("/proc/sys/kernel/domainname")).expect("host domainname");
    assert_eq!(
        host_after, host_before,
        "the host's domainname is untouched"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// An rlimit above the caller's hard limit cannot be set without CAP_SYS_RESOURCE... or
/// can, as root with it. Either way the outcome is clear: the limit inside is what was
/// asked, or create fails naming the rlimit and leaves nothing.
#[test]
fn rlimit_above_the_hard_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through the valid pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let above = lim.rlim_max + 1000;
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    f.bundle.config_mut()["process"]["rlimits"] =
        json!([{ "type": "RLIMIT_NOFILE", "soft": above, "hard": above }]);
    let id = unique_id("rlimhard");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    let can_raise = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("CapEff:"))
                .and_then(|l| u64::from_str_radix(l.trim_start_matches("CapEff:").trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << 24) != 0)
        && std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .is_some_and(|n| n >= above);
    if can_raise {
        assert_eq!(out.code(), Some(0), "{out}");
        let r = out.json().expect("probe JSON");
        assert_eq!(r["rlimits"]["RLIMIT_NOFILE"]["hard"], above);
    } else {
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(
            out.stderr.contains("RLIMIT_NOFILE") || out.stderr.contains("rlimit"),
            "names the rlimit: {out}"
        );
        assert_eq!(f.rt.status(&id), None);
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// Eight `delete --force` and `kill` on one id at once: all finish in time, each either
/// succeeds or fails plainly (status 1 with a message), and nothing is left. A few rounds,
/// since a race shows only sometimes.
#[test]
fn concurrent_commands_on_one_id_serialize() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    for _ in 0..3 {
        concurrent_round(&f);
    }
}

fn concurrent_round(f: &Fixture) {
    let id = unique_id("concurrent");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    f.rt.wait_status(&id, "running", WAIT).expect("running");
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (rt, id) = (&f.rt, &id);
                s.spawn(move || {
                    if i % 2 == 0 {
                        rt.cmd(&["delete", "--force", id])
                    } else {
                        rt.cmd(&["kill", id, "KILL"])
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("finishes in time"))
            .collect()
    });
    let mut deleted = 0;
    for out in &outs {
        match out.code() {
            Some(0) => {
                if out.command.contains(" delete ") {
                    deleted += 1;
                }
            }
            Some(1) => {
                let e = out.stderr.to_lowercase();
                assert!(
                    e.contains("does not exist")
                        || e.contains("not running")
                        || e.contains("stopped")
                        || e.contains("no such process"),
                    "a plain error: {out}"
                );
                assert!(!e.contains("panick"), "{out}");
            }
            _ => panic!("unexpected status: {out}"),
        }
    }
    assert!(deleted >= 1, "one delete --force succeeded");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
