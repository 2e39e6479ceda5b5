//! The private containerd each test starts, and the `ctr` calls that drive
//! it: start and stop, config, leak checks and teardown.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use skiff_conformance::{reap_orphans, spawn_registered, wait_spawned, Bundle, ToolOutput};

pub(crate) const RUNTIME: &str = "io.containerd.skiff.v2";
/// containerd's stock shim, which calls a runc-compatible binary.
pub(crate) const RUNC_RUNTIME: &str = "io.containerd.runc.v2";
/// The runc shim's default `--root` for its runtime, per namespace.
pub(crate) const RUNC_STATE_ROOT: &str = "/run/containerd/runc";
pub(crate) const CTR_TIMEOUT: Duration = Duration::from_secs(60);
/// How long shims and containers get to go away after their last request.
pub(crate) const SETTLE: Duration = Duration::from_secs(15);

pub(crate) static SEQ: AtomicU32 = AtomicU32::new(0);

pub(crate) fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} not found in PATH: apt-get install -y containerd"))
}

/// The shim binary: `$SKIFF_SHIM_BIN`, else the one built next to this test.
pub(crate) fn shim_binary() -> PathBuf {
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
pub(crate) struct Containerd {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ns: String,
    pub(crate) daemon: Option<std::process::Child>,
    /// The busybox rootfs containers run on.
    pub(crate) bundle: Bundle,
    /// Container (and pod) ids used, whose shim sockets must be gone at the end.
    pub(crate) ids: std::sync::Mutex<Vec<String>>,
    /// The runtime `run` asks for, and its shim binary's name.
    pub(crate) runtime: &'static str,
    pub(crate) shim_name: &'static str,
    /// Options `run` adds for that runtime (`--runc-binary`, `--env`).
    pub(crate) run_opts: Vec<String>,
    /// Where the runtime keeps its state (`--root`), per namespace.
    pub(crate) state_root: PathBuf,
}

impl Containerd {
    /// A containerd running skiff through skiff's own shim.
    pub(crate) fn start() -> Self {
        Self::start_as(RUNTIME, "containerd-shim-skiff-v2", false)
    }

    /// A containerd whose `run` uses containerd's stock runc shim
    /// (`io.containerd.runc.v2`) with the runtime binary under test
    /// (`skiff_conformance::runtime_binary()`: `$RUNTIME`, `$SKIFF_BIN`, the
    /// built skiff) as its `--runc-binary`. The shim gives it `--root
    /// /run/containerd/runc/NAMESPACE` (ctr 1.6's `--runc-root` does not
    /// reach it); teardown removes that directory.
    pub(crate) fn start_runc_shim() -> Self {
        Self::start_as(RUNC_RUNTIME, "containerd-shim-runc-v2", true)
    }

    pub(crate) fn start_as(
        runtime: &'static str,
        shim_name: &'static str,
        runc_shim: bool,
    ) -> Self {
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

    pub(crate) fn sock(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    /// Remember `id` (a container or the pod that groups it into a shim).
    pub(crate) fn note(&self, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id.to_owned());
    }

    /// The shim sockets of our ids that still exist. The containerd-shim
    /// crate puts them at /run/containerd/s/sha256(ADDRESS/NAMESPACE/ID).
    pub(crate) fn shim_sockets(&self) -> Vec<PathBuf> {
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

    pub(crate) fn fifo_dir(&self) -> String {
        self.dir.path().join("fifo").display().to_string()
    }

    pub(crate) fn skiff_root(&self) -> PathBuf {
        self.dir.path().join("skiff")
    }

    pub(crate) fn rootfs(&self) -> String {
        self.bundle.rootfs().display().to_string()
    }

    pub(crate) fn start_daemon(&mut self) {
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
    pub(crate) fn stop_daemon(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = wait_spawned(&mut child, CTR_TIMEOUT);
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    pub(crate) fn ctr_with(&self, args: &[&str], stdin: Option<&str>) -> ToolOutput {
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
    pub(crate) fn remove(&self, id: &str) {
        let out = self.ctr(&["task", "delete", id]);
        assert_eq!(out.code, Some(0), "task delete {id}: {out}");
        let out = self.ctr(&["containers", "rm", id]);
        assert_eq!(out.code, Some(0), "containers rm {id}: {out}");
    }

    /// `ctr task kill -s KILL ID`, then wait for STOPPED and `remove` it.
    pub(crate) fn kill_and_remove(&self, id: &str) {
        let out = self.ctr(&["task", "kill", "-s", "KILL", id]);
        assert_eq!(out.code, Some(0), "task kill {id}: {out}");
        self.wait_status(id, "STOPPED");
        self.remove(id);
    }

    pub(crate) fn ctr(&self, args: &[&str]) -> ToolOutput {
        self.ctr_with(args, None)
    }

    /// `ctr run --runtime io.containerd.skiff.v2 --rootfs ROOTFS [opts] ID CMD...`.
    pub(crate) fn run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> ToolOutput {
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
    /// `ctr run -d` of `sleep 1000` as `id` (`opts` besides), waited for until it runs.
    pub(crate) fn run_sleeper(&self, opts: &[&str], id: &str) {
        let mut all = vec!["-d"];
        all.extend_from_slice(opts);
        let out = self.run(&all, id, &["sleep", "1000"]);
        assert_eq!(out.code, Some(0), "{out}\n{}", self.log());
        self.wait_status(id, "RUNNING");
    }

    pub(crate) fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr(&["task", "ls"]);
        out.stdout.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
        })
    }

    pub(crate) fn task_pid(&self, id: &str) -> i32 {
        let out = self.ctr(&["task", "ls"]);
        out.stdout
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&id)).then(|| f.get(1)?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no task {id} in `ctr task ls`: {out}"))
    }

    pub(crate) fn wait_status(&self, id: &str, wanted: &str) {
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
    pub(crate) fn shims(&self) -> Vec<i32> {
        let sock = self.sock().display().to_string();
        processes()
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains(self.shim_name) && cmdline.contains(&sock))
            .map(|(pid, _)| pid)
            .collect()
    }

    /// The shim of container `id`.
    pub(crate) fn shim_of(&self, id: &str) -> i32 {
        let sock = self.sock().display().to_string();
        let want = format!(" -id {id} ");
        processes()
            .into_iter()
            .find(|(_, c)| c.contains(self.shim_name) && c.contains(&sock) && c.contains(&want))
            .map(|(pid, _)| pid)
            .unwrap_or_else(|| panic!("no shim for {id}"))
    }

    /// Processes in our namespace's cgroups (the containers).
    pub(crate) fn container_pids(&self) -> Vec<i32> {
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
    pub(crate) fn cgroup_dirs(&self) -> Vec<PathBuf> {
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
    pub(crate) fn leaks(&self) -> Vec<String> {
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
    pub(crate) fn teardown(&mut self) {
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

pub(crate) fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
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
pub(crate) fn processes() -> Vec<(i32, String)> {
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

pub(crate) fn rss_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub(crate) fn assert_clean(cd: &Containerd) {
    let leaks = cd.leaks();
    assert!(leaks.is_empty(), "left behind: {leaks:#?}\n{}", cd.log());
}
