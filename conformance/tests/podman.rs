//! podman drives the runtime under test (`podman --runtime PATH`) through conmon, as a
//! podman user who switched to skiff would: `run` of a rootfs and of an imported image,
//! `exec`, `stop`, `kill`, `pause`/`unpause`, and an interactive `-t` session on a pty.
//!
//! podman gets private storage (`vfs`, so no overlay mounts), run and tmp dirs in a
//! temporary directory, the cgroupfs manager and file events (no systemd here), no network,
//! and ulimits within the host's hard limits (root here lacks CAP_SYS_RESOURCE). podman must
//! be installed (`scripts/setup.sh` does it): its absence fails the tests.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use skiff_conformance::{
    cgroup_dirs_named, mounts_under, read_fd_until, reap_orphans, runtime_binary, spawn_on_pty,
    spawn_registered, unique_id, wait_spawned, Bundle, ToolOutput,
};

const WAIT: Duration = Duration::from_secs(60);

/// A podman with private state that runs containers with the runtime under test.
struct Podman {
    dir: tempfile::TempDir,
    runtime: PathBuf,
    rootfs_bundle: Bundle,
}

impl Podman {
    fn new() -> Self {
        assert!(
            Path::new("/usr/bin/podman").exists(),
            "podman is not installed (scripts/setup.sh installs it)"
        );
        let dir = tempfile::Builder::new()
            .prefix("skiff-podman-")
            .tempdir()
            .expect("podman dir");
        // A config of its own, so that the host's containers.conf plays no part.
        std::fs::write(
            dir.path().join("containers.conf"),
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .expect("containers.conf");
        let runtime = runtime_binary().expect("runtime under test");
        let rootfs_bundle = Bundle::new(&["/bin/true"]).expect("rootfs");
        Podman {
            dir,
            runtime,
            rootfs_bundle,
        }
    }

    fn rootfs(&self) -> String {
        self.rootfs_bundle.rootfs().to_string_lossy().into_owned()
    }

    fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new("/usr/bin/podman");
        cmd.arg("--root")
            .arg(d.join("storage"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(&self.runtime)
            .args(args)
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("XDG_CONFIG_HOME", d.join("config"));
        cmd
    }

    /// Run podman with `args`; stdin from /dev/null, output captured.
    fn cmd(&self, args: &[&str]) -> ToolOutput {
        let out_path = self.dir.path().join("out");
        let err_path = self.dir.path().join("err");
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).expect("out file"))
            .stderr(std::fs::File::create(&err_path).expect("err file"));
        // Its own process group, so that a timeout kills podman and conmon together.
        cmd.process_group(0);
        let mut child = spawn_registered(&mut cmd).expect("spawn podman");
        let status = wait_spawned(&mut child, WAIT);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        ToolOutput {
            code: status.ok().and_then(|s| s.code()),
            stdout: read(&out_path),
            stderr: read(&err_path),
        }
    }

    /// `podman run` flags every container here needs on this host.
    fn run_flags() -> Vec<&'static str> {
        vec![
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
        ]
    }

    /// A `--cidfile` path for the container `name`, to learn its id even after `--rm`.
    fn cidfile(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.cid"))
            .to_string_lossy()
            .into_owned()
    }

    /// The id podman wrote to a `--cidfile`.
    fn cid(&self, cidfile: &str) -> String {
        std::fs::read_to_string(cidfile)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// `podman run --detach` of a long sleep on the test rootfs; returns the container id.
    fn run_sleeper(&self, name: &str) -> String {
        let rootfs = self.rootfs();
        let cidfile = self.cidfile(name);
        let mut args = vec!["run", "--detach", "--name", name, "--cidfile", &cidfile];
        args.extend(Podman::run_flags());
        args.extend(["--rootfs", &rootfs, "/bin/sleep", "300"]);
        let out = self.cmd(&args);
        assert_eq!(out.code, Some(0), "{out}");
        self.cid(&cidfile)
    }

    fn inspect_status(&self, name: &str) -> String {
        self.cmd(&["inspect", "--format", "{{.State.Status}}", name])
            .stdout
            .trim()
            .to_owned()
    }

    /// What the containers of this podman left: processes running the runtime under test
    /// or conmon with our state dir, mounts under our dir, cgroups of `ids`. conmon runs
    /// podman's cleanup after the container exits, and may outlive the podman command that
    /// started it by a moment: processes get a bounded while to go.
    fn leaks(&self, ids: &[String]) -> Vec<String> {
        let deadline = std::time::Instant::now() + WAIT;
        let mut found = loop {
            reap_orphans();
            let procs = self.processes_left();
            if procs.is_empty() || std::time::Instant::now() > deadline {
                break procs;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for m in mounts_under(self.dir.path()) {
            found.push(format!("mount left: {m}"));
        }
        for id in ids {
            if id.is_empty() {
                found.push("a container id is unknown (no cidfile)".to_owned());
                continue;
            }
            for d in cgroup_dirs_named(&format!("libpod-{id}")) {
                found.push(format!("cgroup left: {}", d.display()));
            }
        }
        found
    }

    /// Processes other than podman itself whose command line names our directory.
    fn processes_left(&self) -> Vec<String> {
        let mine = self.dir.path().to_string_lossy().into_owned();
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if text.contains(&mine) && !text.starts_with("/usr/bin/podman") {
                    found.push(format!("process left: {text}"));
                }
            }
        }
        found
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.cmd(&["rmi", "--all", "--force"]);
        reap_orphans();
        // podman's own parent cgroup (with its conmon child), once no test uses it.
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in controllers.flatten() {
                let parent = c.path().join("libpod_parent");
                let _ = std::fs::remove_dir(parent.join("conmon"));
                let _ = std::fs::remove_dir(&parent);
            }
        }
    }
}

#[test]
fn podman_run_rootfs_passes_output_and_exit_status() {
    let p = Podman::new();
    let name = unique_id("pm-run");
    let rootfs = p.rootfs();
    let cidfile = p.cidfile(&name);
    let mut args = vec!["run", "--rm", "--name", &name, "--cidfile", &cidfile];
    args.extend(Podman::run_flags());
    args.extend([
        "--rootfs",
        &rootfs,
        "/bin/sh",
        "-c",
        "echo hello-from-podman; cat /proc/1/cmdline; exit 3",
    ]);
    let out = p.cmd(&args);
    assert_eq!(out.code, Some(3), "{out}");
    assert!(out.stdout.contains("hello-from-podman"), "{out}");
    // The container's own pid namespace: the shell is its pid 1.
    assert!(out.stdout.contains("/bin/sh"), "{out}");
    assert_eq!(p.leaks(&[p.cid(&cidfile)]), Vec::<String>::new());
}

#[test]
fn podman_runs_an_imported_image() {
    let p = Podman::new();
    let tar = p.dir.path().join("rootfs.tar");
    let made = Command::new("tar")
        .arg("-C")
        .arg(p.rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .expect("tar");
    assert!(made.success());
    let image = "localhost/skiff-conformance:busybox";
    let out = p.cmd(&["import", &tar.to_string_lossy(), image]);
    assert_eq!(out.code, Some(0), "{out}");
    let name = unique_id("pm-image");
    let cidfile = p.cidfile(&name);
    let mut args = vec!["run", "--rm", "--name", &name, "--cidfile", &cidfile];
    args.extend(Podman::run_flags());
    args.extend([image, "/bin/sh", "-c", "echo from-image; hostname"]);
    let out = p.cmd(&args);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("from-image"), "{out}");
    assert_eq!(p.leaks(&[p.cid(&cidfile)]), Vec::<String>::new());
}

#[test]
fn podman_exec_stop_and_kill() {
    let p = Podman::new();
    let name = unique_id("pm-exec");
    let id = p.run_sleeper(&name);
    assert_eq!(p.inspect_status(&name), "running");

    let out = p.cmd(&["exec", &name, "/bin/sh", "-c", "echo in-exec; exit 5"]);
    assert_eq!(out.code, Some(5), "exec status passes through: {out}");
    assert!(out.stdout.contains("in-exec"), "{out}");

    // sleep as pid 1 ignores SIGTERM: stop escalates to SIGKILL after the timeout.
    let out = p.cmd(&["stop", "--time", "1", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(p.inspect_status(&name), "exited");

    let out = p.cmd(&["start", &name]);
    assert_eq!(out.code, Some(0), "restart: {out}");
    assert_eq!(p.inspect_status(&name), "running");
    let out = p.cmd(&["kill", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    let out = p.cmd(&["wait", &name]);
    assert_eq!(out.stdout.trim(), "137", "killed by SIGKILL: {out}");

    let out = p.cmd(&["rm", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(p.leaks(&[id]), Vec::<String>::new());
}

#[test]
fn podman_pause_and_unpause() {
    let p = Podman::new();
    let name = unique_id("pm-pause");
    let id = p.run_sleeper(&name);

    let out = p.cmd(&["pause", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(p.inspect_status(&name), "paused");
    let out = p.cmd(&["unpause", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(p.inspect_status(&name), "running");
    let out = p.cmd(&["exec", &name, "/bin/true"]);
    assert_eq!(out.code, Some(0), "runs again after unpause: {out}");

    let out = p.cmd(&["rm", "--force", "--time", "0", &name]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(p.leaks(&[id]), Vec::<String>::new());
}

#[test]
fn podman_interactive_tty() {
    let p = Podman::new();
    let name = unique_id("pm-tty");
    let rootfs = p.rootfs();
    let cidfile = p.cidfile(&name);
    let mut args = vec![
        "run",
        "--rm",
        "-i",
        "-t",
        "--name",
        &name,
        "--cidfile",
        &cidfile,
    ];
    args.extend(Podman::run_flags());
    args.extend([
        "--rootfs",
        &rootfs,
        "/bin/sh",
        "-c",
        "tty; stty size; read line; echo got-$line; exit 4",
    ]);
    let mut cmd = p.command(&args);
    let (mut child, master) = spawn_on_pty(&mut cmd, 33, 101).expect("spawn podman");
    drop(cmd);
    let before = read_fd_until(&master, Some("33 101"), WAIT);
    nix::unistd::write(&master, b"typed\n").expect("type a line");
    let after = read_fd_until(&master, Some("got-typed"), WAIT);
    let status = wait_spawned(&mut child, WAIT).expect("podman finishes");
    let text = format!("{before}{after}");
    assert!(text.contains("/dev/pts/"), "a pty inside: {text:?}");
    assert!(text.contains("33 101"), "the terminal's size: {text:?}");
    assert!(
        text.contains("got-typed"),
        "input reaches the process: {text:?}"
    );
    assert_eq!(status.code(), Some(4), "{text:?}");
    assert_eq!(p.leaks(&[p.cid(&cidfile)]), Vec::<String>::new());
}
