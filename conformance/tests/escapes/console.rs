//! CVE-2025-52565: the /dev/console bind when the image's /dev/console or /dev/pts/N is
//! a symlink.

use super::*;

/// The image brings its own /dev (no tmpfs over it; devpts still at /dev/pts), whose
/// /dev/console is a symlink to /proc/sys/kernel/core_pattern. /dev/console must end up the
/// container's own pty and the procfs file untouched. A vulnerable runtime follows the
/// symlink and binds the pty over /proc/sys/kernel/core_pattern (the container sees /dev/console
/// as a symlink and core_pattern as a char device), or binds the procfs file, writable,
/// onto /dev/console (a regular file). The advisory's other half, /dev/pts/N swapped for
/// a symlink, needs a race on a shared devpts that a static image cannot set up (the
/// kernel serves /dev/ptmx only next to a devpts); skiff binds the pty from its fd
/// (TIOCGPTPEER) and never opens /dev/pts/N by name.
#[test]
fn cve_2025_52565_console_symlink_in_image() {
    let script = "busybox stat -c %F /dev/console; busybox stat -L -c %t:%T /dev/console; \
                  busybox stat -L -c %t:%T $(busybox tty); \
                  busybox stat -c %F /proc/sys/kernel/core_pattern; echo ok";
    let mut f = Fixture::new(&["/bin/busybox", "sh", "-c", script]).expect("fixture");
    f.bundle.config_mut()["process"]["terminal"] = json!(true);
    drop_mounts(&mut f, &["/dev"]);
    let dev = f.bundle.rootfs().join("dev");
    for d in ["pts", "shm", "mqueue"] {
        std::fs::create_dir_all(dev.join(d)).expect("mkdir");
    }
    symlink("/proc/sys/kernel/core_pattern", dev.join("console")).expect("symlink");
    let sock = ConsoleSocket::new().expect("console socket");
    let sock_path = sock.path().to_string_lossy().into_owned();
    let id = unique_id("cve52565");
    let out =
        f.rt.create_with(&id, &f.bundle, &["--console-socket", &sock_path])
            .expect("create");
    if out.success() {
        let master = sock.receive(WAIT).expect("pty master");
        assert!(f.rt.start(&id).expect("start").success());
        let text = skiff_conformance::read_fd_until(&master, Some("ok\r\n"), WAIT);
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert_eq!(
            lines.first().copied(),
            Some("character special file"),
            "/dev/console is the pty: {text:?}"
        );
        assert!(
            lines.get(1).is_some() && lines.get(1) == lines.get(2),
            "/dev/console is the process's own pty: {text:?}"
        );
        assert_eq!(
            lines.get(3).copied(),
            Some("regular empty file"),
            "/proc/sys/kernel/core_pattern is untouched: {text:?}"
        );
        let _ = f.rt.wait_status(&id, "stopped", WAIT);
    } else if !f.rt.is_runc() {
        assert!(
            out.stderr.contains("console") || out.stderr.contains("pty"),
            "the error names the console: {out}"
        );
    }
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
