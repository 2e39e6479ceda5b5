//! CVE-2025-31133: maskedPaths with a /dev/null that is not /dev/null.

use super::*;

/// The image's /dev (no tmpfs over it) has a /dev/null that is a symlink to
/// /proc/sys/kernel/core_pattern, a regular file, or another char device (1:5). Masking a
/// file binds /dev/null over it: the runtime must refuse, or mask with the real null
/// device. A vulnerable runtime binds the symlink's target (core_pattern, writable) or
/// the file over /proc/kcore & co, which the probe then finds readable with content or
/// writable.
#[test]
fn cve_2025_31133_masking_with_a_fake_dev_null() {
    let masked: Vec<&str> = MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| ["/proc/kcore", "/proc/keys", "/proc/timer_list"].contains(p))
        .collect();
    let core_before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read");
    for variant in ["symlink", "file", "zero"] {
        let mut args = vec!["/bin/probe", "paths"];
        args.extend(&masked);
        let mut f = Fixture::new(&args).expect("fixture");
        drop_mounts(&mut f, &["/dev"]);
        let dev = f.bundle.rootfs().join("dev");
        std::fs::create_dir_all(dev.join("pts")).expect("mkdir");
        std::fs::create_dir_all(dev.join("shm")).expect("mkdir");
        std::fs::create_dir_all(dev.join("mqueue")).expect("mkdir");
        let null = dev.join("null");
        match variant {
            "symlink" => symlink("/proc/sys/kernel/core_pattern", &null).expect("symlink"),
            "file" => std::fs::write(&null, "not the null device").expect("file"),
            _ => mknod(&null, libc::S_IFCHR, 1, 5),
        }
        let id = unique_id(&format!("cve31133{variant}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if out.success() {
            let r = out
                .json()
                .unwrap_or_else(|e| panic!("{variant}: no probe report: {e}: {out}"));
            for p in &masked {
                let e = path_entry(&r, p);
                assert!(
                    e["exists"] == false || (e["writable"] == false && e["empty"] != false),
                    "{variant}: {p} is not masked by the null device: {e}"
                );
            }
        } else if !f.rt.is_runc() {
            assert!(
                out.stderr.contains("/dev/null"),
                "{variant}: the error names /dev/null: {out}"
            );
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    let core_after = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read");
    assert_eq!(core_before, core_after, "the host's core_pattern changed");
}
