//! containerd driving skiff through its shim, `containerd-shim-skiff-v2`
//! (runtime `io.containerd.skiff.v2`): a private containerd per test (own
//! root, state, sockets and namespace, CRI disabled), driven with `ctr` on a
//! busybox rootfs. Each test ends by checking that no shim, container
//! process, cgroup, mount or state is left behind.
//!
//! The `runc_shim_*` tests use containerd's stock shim instead,
//! `containerd-shim-runc-v2` (runtime `io.containerd.runc.v2`), with the
//! runtime binary under test as its runc (`ctr run --runc-binary`): skiff's
//! CLI as containerd calls runc. `RUNTIME=/usr/sbin/runc` runs them on runc.
//!
//! Needs containerd and ctr (`apt-get install -y containerd`) and the built
//! shim: `$SKIFF_SHIM_BIN`, else `containerd-shim-skiff-v2` next to this test's
//! target dir (`cargo build -p skiff-shim` first).
#![allow(clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use skiff_conformance::{reap_orphans, spawn_registered, wait_spawned, Bundle, ToolOutput};

const RUNTIME: &str = "io.containerd.skiff.v2";
/// containerd's stock shim, which calls a runc-compatible binary.
const RUNC_RUNTIME: &str = "io.containerd.runc.v2";
/// The runc shim's default `--root` for its runtime, per namespace.
const RUNC_STATE_ROOT: &str = "/run/containerd/runc";
const CTR_TIMEOUT: Duration = Duration::from_secs(60);
/// How long shims and containers get to go away after their last request.
const SETTLE: Duration = Duration::from_secs(15);

static SEQ: AtomicU32 = AtomicU32::new(0);

fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} not found in PATH: apt-get install -y containerd"))
}

/// The shim binary: `$SKIFF_SHIM_BIN`, else the one built next to this test.
fn shim_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SKIFF_SHIM_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/containerd-HASH → target/<profile>/
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary directory");
    let candidates = [
        profile_dir.join("containerd-shim-skiff-v2"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/containerd-shim-skiff-v2"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("no shim binary at {candidates:?}: run `cargo build -p skiff-shim` or set SKIFF_SHIM_BIN")
        })
}

/// A private containerd whose PATH starts with the shim's directory.
struct Containerd {
    dir: tempfile::TempDir,
    ns: String,
    daemon: Option<std::process::Child>,
    /// The busybox rootfs containers run on.
    bundle: Bundle,
    /// Container (and pod) ids used, whose shim sockets must be gone at the end.
    ids: std::sync::Mutex<Vec<String>>,
    /// The runtime `run` asks for, and its shim binary's name.
    runtime: &'static str,
    shim_name: &'static str,
    /// Options `run` adds for that runtime (`--runc-binary`, `--env`).
    run_opts: Vec<String>,
    /// Where the runtime keeps its state (`--root`), per namespace.
    state_root: PathBuf,
}

impl Containerd {
    /// A containerd running skiff through skiff's own shim.
    fn start() -> Self {
        Self::start_as(RUNTIME, "containerd-shim-skiff-v2", false)
    }

    /// A containerd whose `run` uses containerd's stock runc shim
    /// (`io.containerd.runc.v2`) with the runtime binary under test
    /// (`skiff_conformance::runtime_binary()`: `$RUNTIME`, `$SKIFF_BIN`, the
    /// built skiff) as its `--runc-binary`. The shim gives it `--root
    /// /run/containerd/runc/NAMESPACE` (ctr 1.6's `--runc-root` does not
    /// reach it); teardown removes that directory.
    fn start_runc_shim() -> Self {
        Self::start_as(RUNC_RUNTIME, "containerd-shim-runc-v2", true)
    }

    fn start_as(runtime: &'static str, shim_name: &'static str, runc_shim: bool) -> Self {
        skiff_conformance::init();
        let dir = tempfile::Builder::new()
            .prefix("skiff-containerd-")
            .tempdir()
            .expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        if !runc_shim {
            std::os::unix::fs::symlink(shim_binary(), bin.join("containerd-shim-skiff-v2"))
                .expect("link the shim");
        }
        let ns = format!(
            "skiff-shim-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let d = dir.path().display();
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n\
             [debug]\n  level = \"debug\"\n"
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("config.toml");
        let mut cd = Containerd {
            dir,
            ns,
            daemon: None,
            bundle: Bundle::new(&["/bin/true"]).expect("busybox rootfs"),
            ids: std::sync::Mutex::new(Vec::new()),
            runtime,
            shim_name,
            run_opts: Vec::new(),
            state_root: PathBuf::new(),
        };
        cd.state_root = if runc_shim {
            PathBuf::from(RUNC_STATE_ROOT)
        } else {
            cd.skiff_root()
        };
        if runc_shim {
            let bin = skiff_conformance::runtime_binary().expect("the runtime binary");
            cd.run_opts = vec![
                "--runc-binary".into(),
                bin.display().to_string(),
                // ctr's spec for `--rootfs` has no environment, and runc
                // resolves `sh` only through the process's PATH.
                "--env".into(),
                "PATH=/bin".into(),
            ];
        }
        cd.start_daemon();
        cd
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    /// Remember `id` (a container or the pod that groups it into a shim).
    fn note(&self, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id.to_owned());
    }

    /// The shim sockets of our ids that still exist. The containerd-shim
    /// crate puts them at /run/containerd/s/sha256(ADDRESS/NAMESPACE/ID).
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        ids.iter()
            .filter_map(|id| {
                let key = format!("{}/{}/{id}", self.sock().display(), self.ns);
                let out = Command::new("sh")
                    .args(["-c", "printf %s \"$1\" | sha256sum", "sh", &key])
                    .output()
                    .ok()?;
                let hash = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .next()?
                    .to_string();
                let path = Path::new("/run/containerd/s").join(hash);
                path.exists().then_some(path)
            })
            .collect()
    }

    fn fifo_dir(&self) -> String {
        self.dir.path().join("fifo").display().to_string()
    }

    fn skiff_root(&self) -> PathBuf {
        self.dir.path().join("skiff")
    }

    fn rootfs(&self) -> String {
        self.bundle.rootfs().display().to_string()
    }

    fn start_daemon(&mut self) {
        let _ = std::fs::remove_file(self.sock());
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("containerd.log"))
            .expect("log file");
        let mut cmd = Command::new(which("containerd"));
        cmd.arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .env("PATH", path)
            .env("SKIFF_SHIM_ROOT", self.skiff_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.daemon = Some(spawn_registered(&mut cmd).expect("start containerd"));
        let start = Instant::now();
        while !self.sock().exists() || self.ctr(&["version"]).code != Some(0) {
            assert!(
                start.elapsed() < CTR_TIMEOUT,
                "containerd did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop containerd (its shims keep running, as in production).
    fn stop_daemon(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = wait_spawned(&mut child, CTR_TIMEOUT);
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    fn ctr_with(&self, args: &[&str], stdin: Option<&str>) -> ToolOutput {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let out_path = self.dir.path().join(format!("ctr-{n}.out"));
        let err_path = self.dir.path().join(format!("ctr-{n}.err"));
        let input = match stdin {
            Some(text) => {
                let p = self.dir.path().join(format!("ctr-{n}.in"));
                std::fs::write(&p, text).expect("stdin file");
                Stdio::from(File::open(p).expect("stdin file"))
            }
            None => Stdio::null(),
        };
        // ctr's FIFOs go to our directory, not /run/containerd/fifo (where
        // detached tasks would leave them).
        let fifo_dir = self.fifo_dir();
        let mut args: Vec<&str> = args.to_vec();
        let at = match args.as_slice() {
            ["run", ..] => Some(1),
            ["task", "exec" | "start", ..] => Some(2),
            _ => None,
        };
        if let Some(at) = at {
            args.insert(at, &fifo_dir);
            args.insert(at, "--fifo-dir");
        }
        let mut cmd = Command::new(which("ctr"));
        cmd.arg("--address")
            .arg(self.sock())
            .arg("-n")
            .arg(&self.ns)
            .args(&args)
            .stdin(input)
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"));
        let mut child = spawn_registered(&mut cmd).expect("spawn ctr");
        let status = wait_spawned(&mut child, CTR_TIMEOUT);
        ToolOutput {
            code: status.ok().and_then(|s| s.code()),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        }
    }

    /// `ctr task delete ID` then `ctr containers rm ID`, each succeeding.
    fn remove(&self, id: &str) {
        let out = self.ctr(&["task", "delete", id]);
        assert_eq!(out.code, Some(0), "task delete {id}: {out}");
        let out = self.ctr(&["containers", "rm", id]);
        assert_eq!(out.code, Some(0), "containers rm {id}: {out}");
    }

    fn ctr(&self, args: &[&str]) -> ToolOutput {
        self.ctr_with(args, None)
    }

    /// `ctr run --runtime io.containerd.skiff.v2 --rootfs ROOTFS [opts] ID CMD...`.
    fn run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> ToolOutput {
        self.note(id);
        let rootfs = self.rootfs();
        // `--rootfs` is a flag: the rootfs path is the first argument.
        let mut args = vec!["run"];
        args.extend_from_slice(opts);
        args.extend(self.run_opts.iter().map(String::as_str));
        args.extend_from_slice(&["--runtime", self.runtime, "--rootfs", &rootfs, id]);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    /// The status column of `ctr task ls` for `id`.
    fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr(&["task", "ls"]);
        out.stdout.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
        })
    }

    fn task_pid(&self, id: &str) -> i32 {
        let out = self.ctr(&["task", "ls"]);
        out.stdout
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&id)).then(|| f.get(1)?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no task {id} in `ctr task ls`: {out}"))
    }

    fn wait_status(&self, id: &str, wanted: &str) {
        let start = Instant::now();
        loop {
            let status = self.task_status(id);
            if status.as_deref() == Some(wanted) {
                return;
            }
            assert!(
                start.elapsed() < SETTLE,
                "task {id} is {status:?}, not {wanted}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pids of the shims serving this containerd (their `-address` is our socket).
    fn shims(&self) -> Vec<i32> {
        let sock = self.sock().display().to_string();
        processes()
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains(self.shim_name) && cmdline.contains(&sock))
            .map(|(pid, _)| pid)
            .collect()
    }

    /// The shim of container `id`.
    fn shim_of(&self, id: &str) -> i32 {
        let sock = self.sock().display().to_string();
        let want = format!(" -id {id} ");
        processes()
            .into_iter()
            .find(|(_, c)| c.contains(self.shim_name) && c.contains(&sock) && c.contains(&want))
            .map(|(pid, _)| pid)
            .unwrap_or_else(|| panic!("no shim for {id}"))
    }

    /// Processes in our namespace's cgroups (the containers).
    fn container_pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for dir in self.cgroup_dirs() {
            if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Every cgroup directory of our namespace, deepest first.
    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
            return dirs;
        };
        for h in hierarchies.flatten() {
            let top = h.path().join(&self.ns);
            if top.is_dir() {
                collect_dirs(&top, &mut dirs);
            }
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        dirs
    }

    /// What is left once every task is gone: shims, container processes,
    /// cgroups, mounts, skiff state. Waits up to `SETTLE` for shims to exit.
    fn leaks(&self) -> Vec<String> {
        let start = Instant::now();
        loop {
            reap_orphans();
            let mut leaks: Vec<String> = Vec::new();
            leaks.extend(self.shims().iter().map(|p| format!("shim process {p}")));
            leaks.extend(
                self.container_pids()
                    .iter()
                    .map(|p| format!("container process {p}")),
            );
            leaks.extend(
                self.cgroup_dirs()
                    .iter()
                    // /sys/fs/cgroup/CONTROLLER/NS stays, as with runc; the
                    // containers' own cgroups below it must be gone.
                    .filter(|d| d.components().count() > 6)
                    .map(|d| format!("cgroup {}", d.display())),
            );
            leaks.extend(
                self.shim_sockets()
                    .iter()
                    .map(|p| format!("shim socket {}", p.display())),
            );
            leaks.extend(
                skiff_conformance::mounts_under(self.dir.path())
                    .into_iter()
                    .map(|m| format!("mount {m}")),
            );
            if let Ok(entries) = std::fs::read_dir(self.state_root.join(&self.ns)) {
                leaks.extend(
                    entries
                        .flatten()
                        .map(|e| format!("skiff state {}", e.path().display())),
                );
            }
            if leaks.is_empty() || start.elapsed() > SETTLE {
                return leaks;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Delete every task and container, stop containerd, and kill whatever
    /// is left (shims, container processes), removing our cgroups.
    fn teardown(&mut self) {
        if self.daemon.is_some() {
            let tasks = self.ctr(&["task", "ls", "-q"]).stdout;
            for id in tasks.lines().filter(|l| !l.is_empty()) {
                let _ = self.ctr(&["task", "kill", "-a", "-s", "KILL", id]);
                let _ = self.ctr(&["task", "delete", "-f", id]);
            }
            let containers = self.ctr(&["containers", "ls", "-q"]).stdout;
            for id in containers.lines().filter(|l| !l.is_empty()) {
                let _ = self.ctr(&["containers", "rm", id]);
            }
        }
        self.stop_daemon();
        let start = Instant::now();
        loop {
            let left: Vec<i32> = self
                .shims()
                .into_iter()
                .chain(self.container_pids())
                .collect();
            for pid in &left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            reap_orphans();
            if left.is_empty() || start.elapsed() > SETTLE {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for dir in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(&dir);
        }
        for socket in self.shim_sockets() {
            let _ = std::fs::remove_file(socket);
        }
        // The namespace's state directory (empty unless a test failed).
        let _ = std::fs::remove_dir(self.state_root.join(&self.ns));
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_owned());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// (pid, cmdline with spaces) of every process.
fn processes() -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let text = String::from_utf8_lossy(&raw).replace('\0', " ");
            out.push((pid, text));
        }
    }
    out
}

fn rss_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn assert_clean(cd: &Containerd) {
    let leaks = cd.leaks();
    assert!(leaks.is_empty(), "left behind: {leaks:#?}\n{}", cd.log());
}

// ---------------------------------------------------------------------------------------------

#[test]
fn shim_prints_version_and_info() {
    let out = Command::new(shim_binary())
        .arg("-v")
        .output()
        .expect("run the shim");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(RUNTIME), "{text}");
    let out = Command::new(shim_binary())
        .arg("-info")
        .stdin(Stdio::null())
        .output()
        .expect("run the shim");
    assert!(out.status.success());
    // A protobuf RuntimeInfo: the name, then the features document as JSON.
    let bytes = String::from_utf8_lossy(&out.stdout);
    assert!(bytes.contains(RUNTIME), "{bytes}");
    assert!(bytes.contains("ociVersionMin"), "{bytes}");
}

#[test]
fn run_returns_exit_status_and_output() {
    check_run_returns_exit_status_and_output(&Containerd::start());
}

fn check_run_returns_exit_status_and_output(cd: &Containerd) {
    let out = cd.run(
        &["--rm"],
        "exit3",
        &["sh", "-c", "echo out-$((6*7)); echo err-line >&2; exit 3"],
    );
    assert_eq!(out.code, Some(3), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "out-42\n", "{out}");
    assert!(out.stderr.contains("err-line"), "{out}");
    assert_clean(cd);
}

#[test]
fn stdin_reaches_the_container_and_closes() {
    let cd = Containerd::start();
    let rootfs = cd.rootfs();
    cd.note("cat1");
    let out = cd.ctr_with(
        &[
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            "--rootfs",
            &rootfs,
            "cat1",
            "sh",
            "-c",
            "cat; echo done",
        ],
        Some("line one\nline two\n"),
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "line one\nline two\ndone\n", "{out}");
    assert_clean(&cd);
}

#[test]
fn exec_kill_pause_resume_ps_metrics() {
    check_exec_kill_pause_resume_ps_metrics(&Containerd::start());
}

fn check_exec_kill_pause_resume_ps_metrics(cd: &Containerd) {
    let id = "long";
    let out = cd.run(&["-d"], id, &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    let pid = cd.task_pid(id);

    let shim = cd.shim_of(id);
    assert_eq!(
        cd.shim_sockets().len(),
        1,
        "the shim's socket is where we look"
    );
    let rss = rss_kb(shim).expect("shim rss");
    eprintln!("shim RSS while a container runs: {rss} kB");

    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        id,
        "sh",
        "-c",
        "echo in-exec; exit 5",
    ]);
    assert_eq!(out.code, Some(5), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "in-exec\n", "{out}");

    let out = cd.ctr(&["task", "ps", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&pid.to_string())),
        "init {pid} not in `task ps`: {out}"
    );

    let out = cd.ctr(&["task", "pause", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.task_status(id).as_deref(), Some("PAUSED"));
    let out = cd.ctr(&["task", "resume", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.task_status(id).as_deref(), Some("RUNNING"));

    let out = cd.ctr(&["task", "metrics", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("pids.current"), "{out}");
    assert!(out.stdout.contains("memory.usage_in_bytes"), "{out}");

    // SIGTERM to a pid-namespace init without a handler does nothing.
    let out = cd.ctr(&["task", "kill", "-s", "TERM", id]);
    assert_eq!(out.code, Some(0), "{out}");
    let out = cd.ctr(&["task", "kill", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "delete", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    let out = cd.ctr(&["containers", "rm", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_clean(cd);
}

#[test]
fn kill_all_stops_every_process() {
    check_kill_all_stops_every_process(&Containerd::start());
}

fn check_kill_all_stops_every_process(cd: &Containerd) {
    let id = "many";
    let out = cd.run(
        &["-d"],
        id,
        &["sh", "-c", "sleep 1000 & sleep 1000 & trap '' TERM; wait"],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status(id, "STOPPED");
    cd.remove(id);
    assert_clean(cd);
}

#[test]
fn terminal_run_and_exec() {
    check_terminal_run_and_exec(&Containerd::start());
}

fn check_terminal_run_and_exec(cd: &Containerd) {
    // `--runtime NAME` and the runtime's options, for the command lines below.
    let runtime = format!("{} --runtime {}", cd.run_opts.join(" "), cd.runtime);
    // ctr wants a terminal for -t: run it under script(1)'s pty.
    let ctr = format!(
        "{} --address {} -n {}",
        which("ctr").display(),
        cd.sock().display(),
        cd.ns
    );
    let rootfs = cd.rootfs();
    let fifo = cd.fifo_dir();
    for id in ["tty1", "tty3"] {
        cd.note(id);
    }
    let script = |cmd: String| {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let out_path = cd.dir.path().join(format!("script-{n}.out"));
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).expect("out"))
            .stderr(Stdio::null());
        let mut child = spawn_registered(&mut c).expect("script");
        let status = wait_spawned(&mut child, CTR_TIMEOUT).expect("script");
        (
            status.code(),
            std::fs::read_to_string(&out_path).unwrap_or_default(),
        )
    };
    let (code, out) = script(format!(
        "{ctr} run -t --rm --fifo-dir {fifo} {runtime} --rootfs {rootfs} tty1 sh -c 'tty; echo on-a-tty; exit 4'"
    ));
    assert_eq!(code, Some(4), "{out}\n{}", cd.log());
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("on-a-tty"), "{out}");

    // ResizePty: ctr passes its terminal's size on; the container sees it.
    let (code, out) = script(format!(
        "stty rows 31 cols 97; {ctr} run -t --rm --fifo-dir {fifo} {runtime} --rootfs {rootfs} tty3 \
         sh -c 'until [ \"$(stty size)\" = \"31 97\" ]; do sleep 0.05; done; echo resized'"
    ));
    assert_eq!(code, Some(0), "{out}\n{}", cd.log());
    assert!(out.contains("resized"), "{out}");

    let out = cd.run(&["-d"], "tty2", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}");
    let (code, out) = script(format!(
        "{ctr} task exec -t --fifo-dir {fifo} --exec-id t1 tty2 sh -c 'test -t 0 && echo exec-tty; exit 6'"
    ));
    assert_eq!(code, Some(6), "{out}\n{}", cd.log());
    assert!(out.contains("exec-tty"), "{out}");
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "tty2"]).code,
        Some(0)
    );
    cd.wait_status("tty2", "STOPPED");
    cd.remove("tty2");
    assert_clean(cd);
}

/// `ctr events` for the test's namespace until stopped.
struct EventLog {
    child: std::process::Child,
    path: PathBuf,
}

impl EventLog {
    fn start(cd: &Containerd) -> Self {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = cd.dir.path().join(format!("events-{n}.log"));
        let mut cmd = Command::new(which("ctr"));
        cmd.arg("--address")
            .arg(cd.sock())
            .arg("-n")
            .arg(&cd.ns)
            .arg("events")
            .stdin(Stdio::null())
            .stdout(File::create(&path).expect("events file"))
            .stderr(Stdio::null());
        let child = spawn_registered(&mut cmd).expect("ctr events");
        EventLog { child, path }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Lines of `topic` that name `id`.
    fn count(&self, topic: &str, id: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains(&format!(" {topic} ")) && l.contains(&format!("\"{id}\"")))
            .count()
    }

    /// Wait until `topic` for `id` was seen (or `SETTLE` passed).
    fn wait_for(&self, topic: &str, id: &str) {
        let start = Instant::now();
        while self.count(topic, id) == 0 && start.elapsed() < SETTLE {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = wait_spawned(&mut self.child, CTR_TIMEOUT);
        self.text()
    }
}

#[test]
fn each_task_event_is_published_once() {
    check_each_task_event_is_published_once(&Containerd::start());
}

fn check_each_task_event_is_published_once(cd: &Containerd) {
    let events = EventLog::start(cd);
    // Let `ctr events` subscribe before the container exists.
    std::thread::sleep(Duration::from_millis(300));
    let out = cd.run(&["-d"], "ev", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("ev", "RUNNING");
    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "x1",
        "ev",
        "sh",
        "-c",
        "exit 2",
    ]);
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(cd.ctr(&["task", "pause", "ev"]).code, Some(0));
    assert_eq!(cd.ctr(&["task", "resume", "ev"]).code, Some(0));
    assert_eq!(cd.ctr(&["task", "kill", "-s", "KILL", "ev"]).code, Some(0));
    cd.wait_status("ev", "STOPPED");
    assert_eq!(cd.ctr(&["task", "delete", "ev"]).code, Some(0));
    events.wait_for("/tasks/delete", "ev");
    let text = events.stop();
    for (topic, n) in [
        ("/tasks/create", 1),
        ("/tasks/start", 1),
        ("/tasks/exec-added", 1),
        ("/tasks/exec-started", 1),
        ("/tasks/paused", 1),
        ("/tasks/resumed", 1),
        // one for the exec process, one for the container
        ("/tasks/exit", 2),
        ("/tasks/delete", 1),
    ] {
        let seen = text
            .lines()
            .filter(|l| l.contains(&format!(" {topic} ")))
            .count();
        assert_eq!(seen, n, "{topic} seen {seen} times, want {n}:\n{text}");
    }
    assert_eq!(cd.ctr(&["containers", "rm", "ev"]).code, Some(0));
    assert_clean(cd);
}

#[test]
fn twenty_containers_at_once() {
    let cd = Containerd::start();
    let outs: Vec<(usize, ToolOutput)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let cd = &cd;
                s.spawn(move || {
                    let id = format!("par{i}");
                    let script = format!("echo hello-{i}; exit {}", i % 7);
                    (i, cd.run(&["--rm"], &id, &["sh", "-c", &script]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (i, out) in outs {
        assert_eq!(out.code, Some((i % 7) as i32), "container {i}: {out}");
        assert_eq!(out.stdout, format!("hello-{i}\n"), "container {i}: {out}");
    }
    assert_clean(&cd);
}

#[test]
fn containerd_restart_keeps_a_running_container() {
    let mut cd = Containerd::start();
    let out = cd.run(&["-d"], "survivor", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("survivor", "RUNNING");
    let pid = cd.task_pid("survivor");
    let shim = cd.shim_of("survivor");
    cd.stop_daemon();
    // The shim and the container outlive containerd.
    assert!(Path::new(&format!("/proc/{shim}")).exists());
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    cd.start_daemon();
    cd.wait_status("survivor", "RUNNING");
    assert_eq!(cd.task_pid("survivor"), pid);
    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "after",
        "survivor",
        "echo",
        "still-here",
    ]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "still-here\n");
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "survivor"]).code,
        Some(0)
    );
    cd.wait_status("survivor", "STOPPED");
    let out = cd.ctr(&["task", "delete", "survivor"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.ctr(&["containers", "rm", "survivor"]).code, Some(0));
    assert_clean(&cd);
}

#[test]
fn killed_shim_is_seen_as_an_exit() {
    let cd = Containerd::start();
    let out = cd.run(&["-d"], "orphan", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("orphan", "RUNNING");
    let pid = cd.task_pid("orphan");
    let shim = cd.shim_of("orphan");
    let events = EventLog::start(&cd);
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the shim");
    // containerd runs `shim delete`, which kills the container; containerd
    // publishes the task's exit (137) and forgets the task.
    events.wait_for("/tasks/exit", "orphan");
    let text = events.stop();
    let exit = text
        .lines()
        .find(|l| l.contains(" /tasks/exit ") && l.contains("\"orphan\""))
        .unwrap_or_else(|| panic!("no exit event for the task:\n{text}\n{}", cd.log()));
    assert!(exit.contains("137"), "{exit}");
    assert_eq!(cd.task_status("orphan"), None);
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < SETTLE {
        reap_orphans();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the container outlived its shim"
    );
    let _ = cd.ctr(&["task", "delete", "orphan"]);
    assert_eq!(cd.ctr(&["containers", "rm", "orphan"]).code, Some(0));
    assert_clean(&cd);
}

/// An OCI image archive of the busybox rootfs, made with tar and sha256sum.
fn image_archive(cd: &Containerd, name: &str) -> PathBuf {
    let work = cd.dir.path().join("image");
    let blobs = work.join("layout/blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs dir");
    let sh = |script: &str| {
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .expect("sh");
        assert!(out.status.success(), "{script}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let w = work.display();
    sh(&format!("tar -C {} -cf {w}/layer.tar .", cd.rootfs()));
    // Store a blob under its digest; returns (digest, size).
    let blob = |file: &str| -> (String, u64) {
        let digest = sh(&format!("sha256sum {w}/{file} | cut -d' ' -f1"));
        let path = work.join(file);
        let size = std::fs::metadata(&path).expect("blob").len();
        std::fs::copy(&path, blobs.join(&digest)).expect("copy blob");
        (digest, size)
    };
    let (layer, layer_size) = blob("layer.tar");
    std::fs::write(
        work.join("config.json"),
        format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/bin"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{layer}"]}}}}"#
        ),
    )
    .expect("config");
    let (config, config_size) = blob("config.json");
    std::fs::write(
        work.join("manifest.json"),
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer}","size":{layer_size}}}]}}"#
        ),
    )
    .expect("manifest");
    let (manifest, manifest_size) = blob("manifest.json");
    std::fs::write(
        work.join("layout/index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest}","size":{manifest_size},"platform":{{"architecture":"amd64","os":"linux"}},"annotations":{{"io.containerd.image.name":"{name}","org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )
    .expect("index");
    std::fs::write(
        work.join("layout/oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    sh(&format!("tar -C {w}/layout -cf {w}/image.tar ."));
    work.join("image.tar")
}

#[test]
fn image_rootfs_is_mounted_and_unmounted() {
    let cd = Containerd::start();
    let name = "docker.io/library/skiff-shim-test:latest";
    let archive = image_archive(&cd, name);
    cd.note("img1");
    let out = cd.ctr(&["images", "import", &archive.display().to_string()]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    // The snapshotter's layers come to the shim as mounts (overlay) that it
    // mounts on the bundle's rootfs, and unmounts on delete.
    let out = cd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        name,
        "img1",
        "sh",
        "-c",
        "echo from-image > /written; cat /written; exit 9",
    ]);
    assert_eq!(out.code, Some(9), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "from-image\n", "{out}");
    assert_clean(&cd);
}

#[test]
fn a_pod_shares_one_shim() {
    let cd = Containerd::start();
    let pod = "--annotation=io.kubernetes.cri.sandbox-id=pod1";
    cd.note("pod1");
    for id in ["pod-a", "pod-b"] {
        let out = cd.run(&["-d", pod], id, &["sleep", "1000"]);
        assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
        cd.wait_status(id, "RUNNING");
    }
    let shims = cd.shims();
    assert_eq!(shims.len(), 1, "one shim for the pod: {shims:?}");
    let fds = |pid: i32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = fds(shims[0]);
    for n in 0..5 {
        let exec_id = format!("x{n}");
        let out = cd.ctr(&[
            "task",
            "exec",
            "--exec-id",
            &exec_id,
            "pod-b",
            "sh",
            "-c",
            "exit 8",
        ]);
        assert_eq!(out.code, Some(8), "{out}");
    }
    // Every exec's streams and threads are gone once it has ended.
    let start = Instant::now();
    while fds(shims[0]) != before && start.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fds(shims[0]), before, "the shim's fds after 5 execs");
    // Deleting one container leaves the shim serving the other.
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "pod-a"]).code,
        Some(0)
    );
    cd.wait_status("pod-a", "STOPPED");
    let out = cd.ctr(&["task", "delete", "pod-a"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(cd.ctr(&["containers", "rm", "pod-a"]).code, Some(0));
    assert_eq!(cd.shims(), shims);
    let out = cd.ctr(&["task", "exec", "--exec-id", "y", "pod-b", "echo", "alive"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "alive\n");
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "pod-b"]).code,
        Some(0)
    );
    cd.wait_status("pod-b", "STOPPED");
    cd.remove("pod-b");
    // Now the shim has nothing left and exits.
    assert_clean(&cd);
}

#[test]
fn a_failing_create_is_reported_and_leaves_nothing() {
    let cd = Containerd::start();
    let out = cd.run(&["--rm"], "nobin", &["/no/such/binary"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("/no/such/binary"), "{out}");
    let _ = cd.ctr(&["containers", "rm", "nobin"]);
    let out = cd.ctr(&["task", "ls", "-q"]);
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert_clean(&cd);
}

#[test]
fn an_exit_while_containerd_is_down_is_reported_after_restart() {
    let mut cd = Containerd::start();
    let out = cd.run(&["-d"], "lonely", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("lonely", "RUNNING");
    let pid = cd.task_pid("lonely");
    cd.stop_daemon();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the container");
    cd.start_daemon();
    // The shim keeps the exit (and retries its TaskExit) until containerd
    // is back.
    cd.wait_status("lonely", "STOPPED");
    let out = cd.ctr(&["task", "delete", "lonely"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    assert_eq!(cd.ctr(&["containers", "rm", "lonely"]).code, Some(0));
    assert_clean(&cd);
}

#[test]
fn an_oom_kill_is_published() {
    check_an_oom_kill_is_published(&Containerd::start());
}

fn check_an_oom_kill_is_published(cd: &Containerd) {
    let events = EventLog::start(cd);
    std::thread::sleep(Duration::from_millis(300));
    // 64 MiB buffer under a 16 MiB limit (the host has no swap to hide it).
    // The hog waits for /go, made by an exec once the task runs: the stock
    // runc shim starts watching for OOM only when start returns, and an OOM
    // before that would not be published.
    let id = "hog";
    let out = cd.run(
        &["-d", "--memory-limit", "16777216"],
        id,
        &[
            "sh",
            "-c",
            "until [ -e /go ]; do sleep 0.05; done; \
             exec busybox dd if=/dev/zero of=/dev/null bs=64M count=1",
        ],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    let out = cd.ctr(&["task", "exec", "--exec-id", "go", id, "touch", "/go"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "delete", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    assert_eq!(cd.ctr(&["containers", "rm", id]).code, Some(0));
    events.wait_for("/tasks/oom", id);
    let text = events.stop();
    // The kernel may report one OOM episode more than once; never none.
    assert!(
        text.lines()
            .any(|l| l.contains(" /tasks/oom ") && l.contains("\"hog\"")),
        "{text}"
    );
    // /go is in the shared rootfs.
    let _ = std::fs::remove_file(cd.bundle.rootfs().join("go"));
    assert_clean(cd);
}

#[test]
fn log_uri_file_works_and_binary_is_refused() {
    let cd = Containerd::start();
    let log = cd.dir.path().join("container.log");
    let uri = format!("file://{}", log.display());
    let out = cd.run(
        &["--rm", "--log-uri", &uri],
        "logged",
        &["sh", "-c", "echo to-the-log; echo err-too >&2; exit 2"],
    );
    assert_eq!(out.code, Some(2), "{out}\n{}", cd.log());
    let text = std::fs::read_to_string(&log).expect("log file");
    assert!(
        text.contains("to-the-log") && text.contains("err-too"),
        "{text}"
    );

    let out = cd.run(
        &["--rm", "--log-uri", "binary:///bin/cat"],
        "binlog",
        &["true"],
    );
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("binary:///bin/cat"), "{out}");
    let _ = cd.ctr(&["containers", "rm", "binlog"]);
    assert_clean(&cd);
}

#[test]
fn ten_containers_at_once_in_one_pod_shim() {
    let cd = Containerd::start();
    let pod = "--annotation=io.kubernetes.cri.sandbox-id=busy-pod";
    cd.note("busy-pod");
    // The pod's sandbox keeps the shim alive, as the pause container does.
    let out = cd.run(&["-d", pod], "sandbox", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("sandbox", "RUNNING");
    let outs: Vec<(usize, ToolOutput)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let cd = &cd;
                s.spawn(move || {
                    let id = format!("member{i}");
                    let script = format!("echo member-{i}; exit {}", 10 + i);
                    (i, cd.run(&["--rm", pod], &id, &["sh", "-c", &script]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (i, out) in outs {
        assert_eq!(out.code, Some(10 + i as i32), "member {i}: {out}");
        assert_eq!(out.stdout, format!("member-{i}\n"), "member {i}: {out}");
    }
    assert_eq!(cd.shims().len(), 1, "one shim for the whole pod");
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "sandbox"]).code,
        Some(0)
    );
    cd.wait_status("sandbox", "STOPPED");
    cd.remove("sandbox");
    assert_clean(&cd);
}

#[test]
fn a_failing_exec_is_reported_and_the_container_goes_on() {
    check_a_failing_exec_is_reported_and_the_container_goes_on(&Containerd::start());
}

fn check_a_failing_exec_is_reported_and_the_container_goes_on(cd: &Containerd) {
    let out = cd.run(&["-d"], "host", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("host", "RUNNING");
    let out = cd.ctr(&["task", "exec", "--exec-id", "bad", "host", "/no/such/tool"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("/no/such/tool"), "{out}");
    let out = cd.ctr(&["task", "exec", "--exec-id", "good", "host", "echo", "fine"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "fine\n");
    assert_eq!(cd.task_status("host").as_deref(), Some("RUNNING"));
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "host"]).code,
        Some(0)
    );
    cd.wait_status("host", "STOPPED");
    cd.remove("host");
    assert_clean(cd);
}

#[test]
fn kill_all_of_a_member_spares_the_pod_sharing_its_pid_namespace() {
    let cd = Containerd::start();
    let out = cd.run(&["-d"], "sbx", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("sbx", "RUNNING");
    let sbx = cd.task_pid("sbx");
    let ns = format!("pid:/proc/{sbx}/ns/pid");
    let out = cd.run(&["-d", "--with-ns", &ns], "member", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("member", "RUNNING");
    // --all means the member's processes (its cgroup), as with runc, not
    // everything in the pid namespace it joined. (One process: orphans of a
    // member would be adopted by the sandbox's `sleep`, which never reaps
    // them, and their zombies keep the member's cgroup busy.)
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", "member"]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status("member", "STOPPED");
    assert_eq!(cd.task_status("sbx").as_deref(), Some("RUNNING"));
    // A member whose shim dies is cleaned up by `shim delete`: that too
    // spares the sandbox.
    let out = cd.run(&["-d", "--with-ns", &ns], "member2", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status("member2", "RUNNING");
    let shim = cd.shim_of("member2");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the member's shim");
    let start = Instant::now();
    while cd.task_status("member2").is_some() && start.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cd.task_status("member2"),
        None,
        "containerd cleaned up member2"
    );
    assert_eq!(cd.task_status("sbx").as_deref(), Some("RUNNING"));
    assert_eq!(cd.ctr(&["containers", "rm", "member2"]).code, Some(0));
    for id in ["member", "sbx"] {
        let _ = cd.ctr(&["task", "kill", "-s", "KILL", id]);
        cd.wait_status(id, "STOPPED");
        cd.remove(id);
    }
    assert_clean(&cd);
}

// ---------------------------------------------------------------------------------------------
// containerd's stock shim, containerd-shim-runc-v2, with the runtime binary
// under test as its runc (`ctr run --runc-binary`). With `RUNTIME=/usr/sbin/runc`
// these tests run against runc itself, which checks the tests.

#[test]
fn runc_shim_run_returns_exit_status_and_output() {
    check_run_returns_exit_status_and_output(&Containerd::start_runc_shim());
}

#[test]
fn runc_shim_exec_kill_pause_resume_ps_metrics() {
    check_exec_kill_pause_resume_ps_metrics(&Containerd::start_runc_shim());
}

#[test]
fn runc_shim_kill_all_stops_every_process() {
    check_kill_all_stops_every_process(&Containerd::start_runc_shim());
}

/// The error message the runtime binary under test writes to its JSON log
/// (`--log FILE --log-format json`, as the runc shim calls it) when
/// `create` is run directly on a bundle whose process is a missing binary.
fn direct_create_error(missing: &str) -> String {
    let rt = skiff_conformance::Runtime::new().expect("runtime");
    let bundle = Bundle::new(&[missing]).expect("bundle");
    bundle.write_config().expect("config.json");
    let log = bundle.path().join("direct-log.json");
    let log_arg = log.display().to_string();
    let b = bundle.path().display().to_string();
    let out = rt
        .invoke(
            &[
                "--log",
                &log_arg,
                "--log-format",
                "json",
                "create",
                "--bundle",
                &b,
                "direct-nobin",
            ],
            skiff_conformance::Opts::default(),
        )
        .expect("run create");
    assert!(!out.success(), "create of {missing} succeeded");
    let text = std::fs::read_to_string(&log).expect("log.json");
    let msg = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "error")
        .filter_map(|v| v["msg"].as_str().map(str::to_owned))
        .next_back()
        .unwrap_or_else(|| panic!("no error entry in log.json: {text}"));
    let leaks = rt.leaks("direct-nobin", &bundle);
    assert!(leaks.is_empty(), "direct create left {leaks:?}");
    msg
}

/// The shim reads the runtime's error from `--log log.json --log-format
/// json` and containerd passes it on to ctr: ctr shows the same message the
/// runtime logs for the same failure when run directly.
#[test]
fn runc_shim_failing_create_reports_the_runtime_error() {
    let expected = direct_create_error("/no/such/binary");
    let cd = Containerd::start_runc_shim();
    let out = cd.run(&["--rm"], "nobin", &["/no/such/binary"]);
    assert_ne!(out.code, Some(0), "{out}");
    eprintln!("runtime's own message: {expected}\nctr: {out}");
    assert!(out.stderr.contains("OCI runtime create failed"), "{out}");
    assert!(
        out.stderr.contains(&expected),
        "wanted {expected:?} in\n{out}"
    );
    let _ = cd.ctr(&["containers", "rm", "nobin"]);
    let out = cd.ctr(&["task", "ls", "-q"]);
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert_clean(&cd);
}

/// `ctr run -t` and `ctr task exec -t`: the shim passes `--console-socket`
/// to create and exec and receives the pty master.
#[test]
fn runc_shim_terminal_run_and_exec() {
    check_terminal_run_and_exec(&Containerd::start_runc_shim());
}

/// `--no-pivot` (create's `--no-pivot`) and `--memory-limit` (the spec's
/// memory limit, found on the container's cgroup under the namespace's).
#[test]
fn runc_shim_no_pivot_and_memory_limit() {
    let cd = Containerd::start_runc_shim();
    let id = "nopivot";
    let out = cd.run(
        &["-d", "--no-pivot", "--memory-limit", "33554432"],
        id,
        &["sleep", "1000"],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    // The runtime's state is where the leak check looks.
    let state = cd.state_root.join(&cd.ns).join(id);
    assert!(state.is_dir(), "no state at {}", state.display());
    let limit = Path::new("/sys/fs/cgroup/memory")
        .join(&cd.ns)
        .join(id)
        .join("memory.limit_in_bytes");
    let text =
        std::fs::read_to_string(&limit).unwrap_or_else(|e| panic!("{}: {e}", limit.display()));
    assert_eq!(text.trim(), "33554432");
    let out = cd.ctr(&["task", "kill", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status(id, "STOPPED");
    cd.remove(id);
    assert_clean(&cd);
}

/// `ctr task exec` of a missing binary: the shim's `exec --process FILE
/// --detach --pid-file FILE` fails with the runtime's message, and the
/// container goes on.
#[test]
fn runc_shim_failing_exec_is_reported_and_the_container_goes_on() {
    check_a_failing_exec_is_reported_and_the_container_goes_on(&Containerd::start_runc_shim());
}

/// `ctr task kill` of a task that has exited: the shim calls the runtime's
/// `kill`, which fails, and maps the failure to "not found" only by its text
/// ("container not running", "no such process", ...).
#[test]
fn runc_shim_kill_of_an_exited_task_is_not_found() {
    let cd = Containerd::start_runc_shim();
    let id = "gone";
    let out = cd.run(&["-d"], id, &["true"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "kill", "-s", "KILL", id]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("process already finished: not found"),
        "{out}"
    );
    // `kill --all` of the exited task succeeds.
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.remove(id);
    assert_clean(&cd);
}

/// The runc shim watches the container's memory cgroup itself.
#[test]
fn runc_shim_an_oom_kill_is_published() {
    check_an_oom_kill_is_published(&Containerd::start_runc_shim());
}

#[test]
fn runc_shim_each_task_event_is_published_once() {
    check_each_task_event_is_published_once(&Containerd::start_runc_shim());
}
