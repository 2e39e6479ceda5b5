//! CVE-2019-16884 (and CVE-2023-28642): /proc covered by a volume, or /proc a symlink.

use super::*;

/// A volume mounted over /proc after the proc mount: the runtime's later procfs writes
/// (the LSM label in the advisory; a sysctl here) would land in the volume. It must be
/// refused. A vulnerable runtime runs the container and writes "1234" into the fake
/// `sys/kernel/shmmni` of the volume, a file of the host.
#[test]
fn cve_2019_16884_volume_over_proc_is_refused() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let fake = f.bundle.path().join("fakeproc");
    std::fs::create_dir_all(fake.join("sys/kernel")).expect("mkdir");
    std::fs::write(fake.join("sys/kernel/shmmni"), "fake").expect("fake sysctl");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"] }),
    );
    f.bundle.config_mut()["linux"]["sysctl"] = json!({ "kernel.shmmni": "1234" });
    let id = unique_id("cve16884");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    let content = std::fs::read_to_string(fake.join("sys/kernel/shmmni")).expect("read");
    assert_eq!(
        content, "fake",
        "a procfs write landed in the volume: {out}"
    );
    assert!(!out.success(), "a volume over /proc was accepted: {out}");
    if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")) && out.stderr.contains("/proc"),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // The same with a directory of the host's procfs as the volume: what covers the
    // container's /proc is not its procfs, and its readonly /proc/sys is then missing
    // (a vulnerable runtime runs it; the probe would see /proc/sys absent).
    let mut f = Fixture::new(&["/bin/probe", "paths", "/proc/sys"]).expect("fixture");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/proc", "type": "bind", "source": "/proc/sys", "options": ["rbind"] }),
    );
    let id = unique_id("cve16884p");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if f.rt.is_runc() {
        // runc allows any procfs source (checkProcMount): only the leak check.
        assert_eq!(f.leaks(&id), Vec::<String>::new());
        return;
    }
    assert!(
        !out.success(),
        "a procfs subdirectory over /proc was accepted: {out}"
    );
    assert!(out.stderr.contains(&format!("mounts[{i}]")), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// The image's /proc is a symlink to a directory of its own. runc refuses it since 1.1.5
/// (CVE-2023-28642); a runtime that follows it must still leave the real procfs masked
/// and read-only where the spec says. A vulnerable runtime mounts proc where the symlink
/// leads and applies the masks to paths that are not procfs, leaving /proc/kcore
/// readable or /proc/sys writable.
#[test]
fn cve_2019_16884_proc_symlink_in_image() {
    let mut args = vec!["/bin/probe", "paths", "/proc/sys"];
    args.extend(MASKED_PATHS.iter().filter(|p| p.starts_with("/proc")));
    let f = Fixture::new(&args).expect("fixture");
    let rootfs = f.bundle.rootfs();
    std::fs::remove_dir(rootfs.join("proc")).expect("rmdir proc");
    std::fs::create_dir(rootfs.join("fakeproc")).expect("mkdir");
    symlink("/fakeproc", rootfs.join("proc")).expect("symlink");
    let id = unique_id("cve16884l");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if out.success() {
        let r = out.json().expect("probe JSON");
        assert_eq!(
            path_entry(&r, "/proc/sys")["writable"],
            false,
            "/proc/sys is writable: {r}"
        );
        for p in MASKED_PATHS.iter().filter(|p| p.starts_with("/proc")) {
            let e = path_entry(&r, p);
            assert!(
                e["exists"] == false || e["empty"] == true || e["readable"] == false,
                "{p} is not masked: {e}"
            );
        }
    } else if !f.rt.is_runc() {
        assert!(out.stderr.contains("/proc"), "the error names /proc: {out}");
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
