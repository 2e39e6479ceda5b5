//! CVE-2024-21626: a leaked fd of the host reached through process.cwd.

use super::*;

/// A host file that a process whose cwd leaked out of the container would reach by
/// `..`; removed on drop.
struct Canary(PathBuf);

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The canary, and the relative path that reaches it from any directory of the host.
fn host_canary(token: &str) -> (Canary, String) {
    let name = format!("skiff-cve21626-{token}");
    let path = Path::new("/tmp").join(&name);
    std::fs::write(&path, "host").expect("canary");
    (Canary(path), format!("{}tmp/{name}", "../".repeat(24)))
}

/// `process.cwd` set to `/proc/self/fd/N` for every small N: if the runtime still holds
/// a directory of the host at N when it changes into the cwd (runc 1.0.0-rc93..1.1.11
/// leaked /sys/fs/cgroup), the container starts outside its root and reaches host files
/// by `..`. It must be refused or stay inside. A vulnerable runtime shows the host
/// canary as existing for some N.
#[test]
fn cve_2024_21626_cwd_through_leaked_fd() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let (canary, rel) = host_canary(f.bundle.token());
    f.bundle.args(&["/bin/probe", "paths", &rel]);
    for n in 3..=12 {
        f.bundle.config_mut()["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let id = unique_id(&format!("cve21626c{n}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if out.success() {
            let r = out.json().expect("probe JSON");
            assert_eq!(
                path_entry(&r, &rel)["exists"],
                false,
                "cwd /proc/self/fd/{n} reached the host: {out}"
            );
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    drop(canary);
}

/// The same through `exec --cwd`, and no fd of the runtime left open in the container's
/// process, for `run` and for `exec`. A vulnerable runtime lists extra fds (3 and up) in
/// the probe's report, or reaches the host canary.
#[test]
fn cve_2024_21626_exec_cwd_and_no_runtime_fds() {
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let (canary, rel) = host_canary(f.bundle.token());
    let id = unique_id("cve21626e");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    assert!(f.rt.start(&id).expect("start").success());
    let out = f.rt.exec(&id, &[], &["/bin/probe", "fds"]).expect("exec");
    assert!(out.success(), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "exec: {}", fds["fds"]);
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let out =
            f.rt.exec(&id, &["--cwd", &cwd], &["/bin/probe", "paths", &rel])
                .expect("exec");
        if out.success() {
            let r = out.json().expect("probe JSON");
            assert_eq!(
                path_entry(&r, &rel)["exists"],
                false,
                "exec --cwd {cwd} reached the host: {out}"
            );
        }
    }
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    let mut f = Fixture::new(&["/bin/probe", "fds"]).expect("fixture");
    f.bundle.config_mut()["process"]["cwd"] = json!("/tmp");
    let id = unique_id("cve21626r");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "run: {}", fds["fds"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    drop(canary);
}

/// Between `create` and `start` the runtime's init (pid 1) still holds the fds of its
/// setup. A process of the container with CAP_SYS_PTRACE can reach them through
/// /proc/1/fd/N: none may lead to the host, neither as a directory of the host (`..`
/// climbs out) nor as a procfs of the host's pid namespace (`N/1/root` is the host's
/// root). A vulnerable runtime (runc 1.0-rc93..1.1.11 kept /sys/fs/cgroup open; a
/// runtime holding the host's /proc) lets the hunter reach the host canary.
#[test]
fn cve_2024_21626_init_fds_do_not_reach_the_host() {
    let mut f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let (canary, _) = host_canary(f.bundle.token());
    let name = canary
        .0
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        f.bundle.config_mut()["process"]["capabilities"][set] = json!(caps);
    }
    let id = unique_id("cve21626i");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    let up = "../".repeat(24);
    let script = format!(
        "n=0; for fd in /proc/1/fd/*; do n=$((n+1)); \
           for p in \"$fd/1/root/tmp/{name}\" \"$fd/{up}tmp/{name}\" \"$fd/tmp/{name}\"; do \
             [ -e \"$p\" ] && echo \"reached $p -> $(readlink $fd)\"; done; done; \
         echo \"fds=$n\""
    );
    let out =
        f.rt.exec(&id, &[], &["/bin/sh", "-c", &script])
            .expect("exec");
    assert!(out.success(), "{out}");
    assert!(
        !out.stdout.contains("reached"),
        "init's fds reach the host: {out}"
    );
    assert!(
        out.stdout.contains("fds=") && !out.stdout.contains("fds=0"),
        "the hunter saw init's fds: {out}"
    );
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    drop(canary);
}
