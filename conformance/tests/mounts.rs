//! The container's filesystem: mounts, devices, masked and read-only paths, bind mounts,
//! a read-only root, and mount destinations that try to leave the rootfs.
#![allow(clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use skiff_conformance::{probe_mount, unique_id, Fixture, MASKED_PATHS, READONLY_PATHS};

fn run_json(f: &Fixture, tag: &str) -> Value {
    let id = unique_id(tag);
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let v = out.json().expect("probe JSON");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    v
}

fn paths_probe(paths: &[&str]) -> Vec<&'static str> {
    let mut args = vec!["/bin/probe", "paths"];
    args.extend(
        paths
            .iter()
            .map(|p| -> &'static str { Box::leak(p.to_string().into_boxed_str()) }),
    );
    args
}

fn push_mount(f: &mut Fixture, mount: Value) {
    f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts array")
        .push(mount);
}

#[test]
fn default_mounts_are_present() {
    let f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let r = run_json(&f, "mounts");
    let expect = [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
    ];
    for (dest, fstype) in expect {
        let m = probe_mount(&r, dest).unwrap_or_else(|| panic!("{dest} mounted: {}", r["mounts"]));
        assert_eq!(m["fstype"], fstype, "{dest}: {m}");
    }
    let sys = probe_mount(&r, "/sys").expect("/sys");
    let opts: Vec<&str> = sys["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(opts.contains(&"ro"), "/sys is read-only: {sys}");
    let shm = probe_mount(&r, "/dev/shm").expect("/dev/shm");
    let opts = shm["options"].to_string();
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(opts.contains(o), "/dev/shm has {o}: {shm}");
    }
    assert!(
        probe_mount(&r, "/").is_some(),
        "a root mount: {}",
        r["mounts"]
    );
    // Nothing of the host's own mounts (below /) is visible.
    let host_only = r["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter(|m| {
            m["mount_point"]
                .as_str()
                .is_some_and(|p| p.starts_with("/work") || p.starts_with("/sys/fs/cgroup/"))
        })
        .count();
    assert_eq!(host_only, 0, "host mounts leak in: {}", r["mounts"]);
}

#[test]
fn default_devices_exist() {
    let devs = [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/ptmx",
    ];
    let f = Fixture::new(&paths_probe(&devs)).expect("fixture");
    let r = run_json(&f, "devs");
    for (i, dev) in devs.iter().enumerate() {
        assert_eq!(r[i]["exists"], true, "{dev}: {}", r[i]);
    }
    assert_eq!(r[0]["writable"], true, "/dev/null is writable: {}", r[0]);
}

#[test]
fn masked_paths_are_unreadable_or_empty() {
    let f = Fixture::new(&paths_probe(MASKED_PATHS)).expect("fixture");
    let r = run_json(&f, "masked");
    let mut existing = 0;
    for (i, path) in MASKED_PATHS.iter().enumerate() {
        let p = &r[i];
        if p["exists"] != true {
            continue;
        }
        existing += 1;
        assert!(
            p["readable"] == false || p["empty"] == true,
            "masked {path} shows content: {p}"
        );
    }
    assert!(existing > 0, "no masked path exists on this kernel: {r}");
}

#[test]
fn readonly_paths_are_not_writable() {
    let f = Fixture::new(&paths_probe(READONLY_PATHS)).expect("fixture");
    let r = run_json(&f, "rdonly");
    let mut existing = 0;
    for (i, path) in READONLY_PATHS.iter().enumerate() {
        let p = &r[i];
        if p["exists"] != true {
            continue;
        }
        existing += 1;
        assert_eq!(p["writable"], false, "read-only {path} is writable: {p}");
    }
    assert!(existing > 0, "no read-only path exists: {r}");
}

#[test]
fn writing_a_readonly_sysctl_fails() {
    let f = Fixture::new(&[
        "/bin/probe",
        "write-file",
        "/proc/sys/kernel/domainname",
        "x",
    ])
    .expect("fixture");
    let id = unique_id("rosysctl");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(1), "the write fails: {out}");
    assert_eq!(out.json().expect("probe JSON")["ok"], false);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn readonly_root_is_not_writable() {
    let mut f = Fixture::new(&["/bin/probe", "write-file", "/newfile"]).expect("fixture");
    f.bundle.config_mut()["root"]["readonly"] = json!(true);
    let id = unique_id("roroot");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(1), "{out}");
    let v = out.json().expect("probe JSON");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("Read-only")),
        "EROFS: {v}"
    );
    assert!(!f.bundle.rootfs().join("newfile").exists());
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn writable_root_is_writable() {
    let f = Fixture::new(&["/bin/probe", "write-file", "/tmp/written", "data"]).expect("fixture");
    let id = unique_id("rwroot");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let written = std::fs::read_to_string(f.bundle.rootfs().join("tmp/written"))
        .expect("file written in the rootfs");
    assert_eq!(written, "data");
}

#[test]
fn bind_mount_read_only() {
    let host = tempfile::tempdir().expect("host dir");
    std::fs::write(host.path().join("hello.txt"), "hello bind").expect("write host file");
    let mut f = Fixture::new(&["/bin/probe", "paths", "/data/hello.txt"]).expect("fixture");
    push_mount(
        &mut f,
        json!({
            "destination": "/data",
            "type": "bind",
            "source": host.path(),
            "options": ["rbind", "ro"],
        }),
    );
    let r = run_json(&f, "bind");
    assert_eq!(r[0]["exists"], true, "{r}");
    assert_eq!(r[0]["empty"], false, "{r}");
    assert_eq!(r[0]["writable"], false, "ro bind: {r}");

    f.bundle.args(&["/bin/probe", "cat", "/data/hello.txt"]);
    let id = unique_id("bindcat");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "hello bind");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    assert!(
        skiff_conformance::mounts_under(host.path()).is_empty(),
        "the bind mount is not left on the host"
    );
}

#[test]
fn tmpfs_mount_with_options() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    push_mount(
        &mut f,
        json!({
            "destination": "/scratch/deep",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=700", "size=1m"],
        }),
    );
    let r = run_json(&f, "tmpfs");
    let m = probe_mount(&r, "/scratch/deep").unwrap_or_else(|| panic!("mounted: {}", r["mounts"]));
    assert_eq!(m["fstype"], "tmpfs");
    let opts = m["options"].to_string();
    assert!(opts.contains("nosuid") && opts.contains("nodev"), "{m}");
    assert!(m["super_options"].to_string().contains("mode=700"), "{m}");
    assert!(
        f.bundle.rootfs().join("scratch/deep").is_dir(),
        "the destination was created inside the rootfs"
    );
}

/// A destination that walks through `rootfs/evil -> /` must stay inside the rootfs.
#[test]
fn mount_destination_through_symlink_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    std::os::unix::fs::symlink("/", f.bundle.rootfs().join("evil")).expect("symlink");
    let canary = format!("skiff-escape-canary-{}", f.bundle.token());
    let host_canary = std::path::Path::new("/tmp").join(&canary);
    assert!(!host_canary.exists());
    push_mount(
        &mut f,
        json!({
            "destination": format!("/evil/tmp/{canary}"),
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=1m"],
        }),
    );
    let id = unique_id("symesc");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    let host_mounted = skiff_conformance::mounts_under(&host_canary);
    let escaped = host_canary.exists();
    let _ = std::fs::remove_dir(&host_canary);
    assert!(
        host_mounted.is_empty(),
        "host /tmp got a mount: {host_mounted:?}"
    );
    assert!(!escaped, "host /tmp/{canary} was created: {out}");
    // Either refusing the mount or placing it in the rootfs is fine.
    if out.success() {
        let r = out.json().expect("probe JSON");
        let inside = format!("/tmp/{canary}");
        assert!(
            probe_mount(&r, &inside).is_some(),
            "mounted inside the container at {inside}: {}",
            r["mounts"]
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `..` in a destination must not climb out of the rootfs.
#[test]
fn mount_destination_with_dotdot_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let canary = format!("skiff-dotdot-canary-{}", f.bundle.token());
    let host_canary = std::path::Path::new("/tmp").join(&canary);
    push_mount(
        &mut f,
        json!({
            "destination": format!("/../../../../../../tmp/{canary}"),
            "type": "tmpfs",
            "source": "tmpfs",
        }),
    );
    let id = unique_id("dotdot");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    let escaped = host_canary.exists();
    let host_mounted = skiff_conformance::mounts_under(&host_canary);
    let _ = std::fs::remove_dir(&host_canary);
    assert!(
        host_mounted.is_empty(),
        "host /tmp got a mount: {host_mounted:?}"
    );
    assert!(!escaped, "host /tmp/{canary} was created: {out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
