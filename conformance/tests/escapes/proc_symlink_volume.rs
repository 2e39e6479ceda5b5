//! CVE-2019-19921, CVE-2023-27561: a volume redirected onto /proc through a symlink.

use super::*;

/// The image has `/vol -> /proc`; the spec mounts a volume at `/vol/sys`, which lands on
/// the container's /proc/sys and takes the place of the real one (which the spec then
/// "makes read-only" in vain). It must be refused. A vulnerable runtime runs it and the
/// container sees the volume's marker file at /proc/sys/marker.
#[test]
fn cve_2019_19921_volume_through_symlink_onto_proc() {
    let mut f = Fixture::new(&["/bin/probe", "paths", "/proc/sys/marker"]).expect("fixture");
    let vol = f.bundle.path().join("vol");
    std::fs::create_dir_all(&vol).expect("mkdir");
    std::fs::write(vol.join("marker"), "volume").expect("marker");
    symlink("/proc", f.bundle.rootfs().join("vol")).expect("symlink");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/vol/sys", "type": "bind", "source": vol, "options": ["rbind"] }),
    );
    let id = unique_id("cve19921");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if out.success() {
        let r = out.json().expect("probe JSON");
        assert_eq!(
            path_entry(&r, "/proc/sys/marker")["exists"],
            false,
            "the volume covers /proc/sys: {r}"
        );
    } else if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// CVE-2023-27561 re-opened CVE-2019-19921 in runc 1.0-rc95..1.1.4. The same class with
/// a file: the image has `/k -> /proc/sys/kernel` and the spec binds a file of the bundle
/// at `/k/core_pattern`, covering the real procfs file. It must be refused. A vulnerable
/// runtime runs it and the container reads the bundle file's text at
/// /proc/sys/kernel/core_pattern.
#[test]
fn cve_2023_27561_file_volume_through_symlink_onto_proc() {
    let mut f =
        Fixture::new(&["/bin/probe", "cat", "/proc/sys/kernel/core_pattern"]).expect("fixture");
    let file = f.bundle.path().join("not-core-pattern");
    std::fs::write(&file, "skiff-cve-2023-27561").expect("file");
    symlink("/proc/sys/kernel", f.bundle.rootfs().join("k")).expect("symlink");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/k/core_pattern", "type": "bind", "source": file }),
    );
    let id = unique_id("cve27561");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(
        !out.stdout.contains("skiff-cve-2023-27561"),
        "a volume covers /proc/sys/kernel/core_pattern: {out}"
    );
    if !out.success() && !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
