//! CVE-2021-30465: a mount destination swapped for a symlink that leads out.

use super::*;

/// A host directory that a mount escaping the rootfs would land in, and its checks.
struct HostTarget {
    dir: PathBuf,
}

impl HostTarget {
    fn new(tag: &str, token: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("skiff-{tag}-{token}"));
        std::fs::create_dir_all(&dir).expect("host dir");
        HostTarget { dir }
    }

    /// What a runtime that escaped left there.
    fn damage(&self) -> Vec<String> {
        let mut found: Vec<String> = skiff_conformance::mounts_under(&self.dir);
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            found.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| format!("created {}", e.path().display())),
            );
        }
        found
    }
}

impl Drop for HostTarget {
    fn drop(&mut self) {
        for m in skiff_conformance::mounts_under(&self.dir) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&m)
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Static variants: the destination's parent is a symlink in the image to an absolute
/// host path, for a tmpfs and for a bind. The mounts must stay in the rootfs (or be
/// refused). A vulnerable runtime creates and mounts in the host directory.
#[test]
fn cve_2021_30465_symlinked_destination_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let host = HostTarget::new("cve30465s", f.bundle.token());
    symlink(&host.dir, f.bundle.rootfs().join("link")).expect("symlink");
    let src = f.bundle.path().join("volsrc");
    std::fs::create_dir_all(&src).expect("mkdir");
    push_mount(
        &mut f,
        json!({ "destination": "/link/tmpfs", "type": "tmpfs", "source": "tmpfs" }),
    );
    push_mount(
        &mut f,
        json!({ "destination": "/link/bind", "type": "bind", "source": src, "options": ["rbind"] }),
    );
    let id = unique_id("cve30465s");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(
        host.damage(),
        Vec::<String>::new(),
        "mounts escaped the rootfs: {out}"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// The race: while containers are set up again and again, a thread swaps the image's
/// `/race/link` between a directory and a symlink to a host directory
/// (renameat2(RENAME_EXCHANGE), as the advisory's second container does on a shared
/// volume). A bounded number of runs; nothing may ever appear in the host directory. A
/// vulnerable runtime (checking the path, then mounting it by name) loses the race now
/// and then and mounts on the host.
#[test]
fn cve_2021_30465_racing_symlink_swap_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let host = HostTarget::new("cve30465r", f.bundle.token());
    let race = f.bundle.rootfs().join("race");
    std::fs::create_dir_all(race.join("link")).expect("mkdir");
    symlink(&host.dir, race.join("link~")).expect("symlink");
    push_mount(
        &mut f,
        json!({ "destination": "/race/link/m", "type": "tmpfs", "source": "tmpfs" }),
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let a =
            std::ffi::CString::new(race.join("link").as_os_str().as_encoded_bytes()).expect("path");
        let b = std::ffi::CString::new(race.join("link~").as_os_str().as_encoded_bytes())
            .expect("path");
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
                let rc = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                if rc == 0 {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let runs: usize = std::env::var("SKIFF_ESCAPE_RACE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut outcomes = Vec::new();
    for n in 0..runs {
        let id = unique_id(&format!("cve30465r{n}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        outcomes.push(out.success());
        let damage = host.damage();
        if !damage.is_empty() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            panic!("run {n} escaped the rootfs: {damage:?}: {out}");
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(swaps > 0, "the swapper never swapped");
    assert_eq!(host.damage(), Vec::<String>::new());
}
