//! Helpers shared by the integration tests of `skiff-core`: a small test
//! runner for `harness = false` targets, busybox bundles, and leak checks.
//!
//! The library re-executes the calling binary as the container's init, so
//! every test binary is a `harness = false` target whose `main` calls
//! [`skiff_core::init_if_requested`] before anything else, then [`run`].
//!
//! The runner makes the test process a child subreaper, runs each test under a
//! watchdog, and after each test checks that it left nothing behind: no live
//! or unreaped child process, no new mount in the test's mount namespace, no
//! container state under the test's state roots.

// Not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Display;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use skiff_core::Spec;

/// What a test returns: `Err` carries the failure's description.
pub type TestResult = Result<(), Failure>;

/// A test failure: a message, built from any error with `?` or [`fail`].
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// A failure with this message.
pub fn fail(message: impl Into<String>) -> Failure {
    Failure(message.into())
}

/// Fail the test with a formatted message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::common::fail(format!(
                "{}:{}: {}", file!(), line!(), format!($($msg)+)
            )));
        }
    };
}
pub(crate) use ensure;

/// One test: a name and the function that runs it.
pub struct Test {
    /// Printed as `test NAME ... ok`.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// Everything the tests made on disk, removed at the end or by the watchdog.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Milliseconds since [`START`] at which the watchdog gives up (0: disarmed).
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
static CURRENT: Mutex<&'static str> = Mutex::new("");
static START: Mutex<Option<Instant>> = Mutex::new(None);

fn now_ms() -> u64 {
    let mut start = START.lock().unwrap_or_else(PoisonError::into_inner);
    let start = *start.get_or_insert_with(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Run `tests` (those matching the command line's filters), each bounded by
/// `timeout`, and print libtest's summary line. Call it from `main` right
/// after [`skiff_core::init_if_requested`].
pub fn run(tests: &[Test], timeout: Duration) -> ExitCode {
    skiff_core::init_if_requested();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let exact = std::env::args().any(|a| a == "--exact");
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        t.name == f
                    } else {
                        t.name.contains(f.as_str())
                    }
                })
        })
        .collect();
    let filtered_out = tests.len() - selected.len();

    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes an integer flag and touches
    // no memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        eprintln!(
            "cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("these tests need root");
        return ExitCode::FAILURE;
    }
    start_watchdog();

    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0usize, Vec::new());
    for test in selected {
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = test.name;
        let mounts_before = mounts();
        DEADLINE_MS.store(now_ms() + millis(timeout), Ordering::SeqCst);
        let began = Instant::now();
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(test.run)) {
            Ok(result) => result,
            Err(panic) => Err(fail(format!("panicked: {}", panic_message(&*panic)))),
        };
        if DEADLINE_MS.swap(0, Ordering::SeqCst) == ABORTED {
            // The watchdog ends the run; do not race it.
            loop {
                std::thread::park();
            }
        }
        // Leaks are checked (and cleaned up) after a failure too.
        let outcome = match (outcome, check_no_leaks(&mounts_before)) {
            (Ok(()), leaks) => leaks,
            (Err(e), Ok(())) => Err(e),
            (Err(Failure(e)), Err(Failure(leaks))) => Err(fail(format!("{e}\n{leaks}"))),
        };
        match outcome {
            Ok(()) => {
                println!("test {} ... ok ({:.1?})", test.name, began.elapsed());
                passed += 1;
            }
            Err(Failure(message)) => {
                println!("test {} ... FAILED", test.name);
                failed.push((test.name, message));
                // Whatever it left behind must not spoil the next test.
                kill_children();
            }
        }
    }
    remove_scratch();

    if !failed.is_empty() {
        println!("\nfailures:");
        for (name, message) in &failed {
            println!("---- {name} ----\n{message}\n");
        }
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {filtered_out} filtered out\n",
        failed.len()
    );
    let _ = std::io::stdout().flush();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_owned()
    }
}

/// [`DEADLINE_MS`] once the watchdog has claimed the run.
const ABORTED: u64 = u64::MAX;

/// A thread that ends the whole run, cleaning up, when a test overruns.
fn start_watchdog() {
    let _ = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_millis(200));
            let deadline = DEADLINE_MS.load(Ordering::SeqCst);
            if deadline != 0
                && now_ms() > deadline
                && DEADLINE_MS
                    .compare_exchange(deadline, ABORTED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                abort_run();
            }
        });
}

/// End the run from the watchdog while the overrunning test's threads may
/// still be creating containers.
fn abort_run() -> ! {
    let name = *CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    println!("test {name} ... FAILED (timed out after its limit; aborting the run)");
    let dirs = SCRATCH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    // A file in place of each state root: no new container can be made.
    for dir in dirs.iter().filter(|d| d.ends_with("state")) {
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::File::create(dir);
    }
    // Launches in flight end (or fail) within moments; kill what they made.
    for _ in 0..10 {
        kill_children();
        std::thread::sleep(Duration::from_millis(100));
    }
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir).or_else(|_| std::fs::remove_file(dir));
    }
    println!("\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n");
    let _ = std::io::stdout().flush();
    std::process::exit(101);
}

/// The pids of this process's children, live or zombie.
pub fn children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // pid (comm) state ppid ...; comm may hold spaces.
                    let rest = &stat[stat.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1).map(|ppid| ppid == me)
                })
                .unwrap_or(false)
        })
        .collect()
}

fn describe(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    format!("{pid} ({})", cmdline.trim())
}

/// Reap every child that has ended; return those still alive.
fn reap() -> Vec<i32> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    children()
}

/// SIGKILL and reap every child (the container processes are our children).
fn kill_children() {
    for _ in 0..50 {
        let left = reap();
        if left.is_empty() {
            return;
        }
        for pid in left {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The mount points of this process's mount namespace.
fn mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .collect()
}

fn check_no_leaks(mounts_before: &BTreeSet<String>) -> TestResult {
    // A process that was just killed may take a moment to become a zombie.
    let mut left = reap();
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        left = reap();
    }
    let mut problems = Vec::new();
    if !left.is_empty() {
        let list: Vec<String> = left.iter().map(|&p| describe(p)).collect();
        problems.push(format!("processes left behind: {}", list.join(", ")));
        kill_children();
    }
    let after = mounts();
    let new: Vec<&String> = after.difference(mounts_before).collect();
    if !new.is_empty() {
        problems.push(format!("mounts left behind: {new:?}"));
    }
    let state: Vec<PathBuf> = SCRATCH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|d| d.file_name().is_some_and(|n| n == "state"))
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .collect();
    if !state.is_empty() {
        problems.push(format!("container state left behind: {state:?}"));
        // Cleared, so that the next test starts clean.
        for dir in &state {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}

fn remove_scratch() {
    let dirs = std::mem::take(&mut *SCRATCH.lock().unwrap_or_else(PoisonError::into_inner));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A fresh directory for this test run, removed when the run ends.
pub fn scratch_dir(name: &str) -> Result<PathBuf, Failure> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "skiff-itest-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("mkdir {}: {e}", dir.display())))?;
    SCRATCH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(dir.clone());
    Ok(dir)
}

/// A state root (`--root`) of its own; checked empty after each test.
pub fn state_root() -> Result<PathBuf, Failure> {
    let dir = scratch_dir("root")?.join("state");
    std::fs::create_dir(&dir).map_err(|e| fail(format!("mkdir {}: {e}", dir.display())))?;
    SCRATCH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(dir.clone());
    Ok(dir)
}

/// A bundle directory whose `rootfs` holds a static busybox.
pub struct Bundle {
    dir: PathBuf,
}

impl Bundle {
    /// Make the bundle: rootfs/{bin,proc,sys,dev,tmp}, /bin/busybox and a
    /// relative symlink in /bin for each of its applets. No config.json.
    pub fn new() -> Result<Self, Failure> {
        let dir = scratch_dir("bundle")?;
        let rootfs = dir.join("rootfs");
        for sub in ["bin", "proc", "sys", "dev", "tmp"] {
            std::fs::create_dir_all(rootfs.join(sub))?;
        }
        let bin = rootfs.join("bin");
        std::fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| {
            fail(format!(
                "copy {BUSYBOX}: {e} (apt-get install busybox-static)"
            ))
        })?;
        let list = Command::new(BUSYBOX).arg("--list").output()?;
        if !list.status.success() {
            return Err(fail(format!("{BUSYBOX} --list: {}", list.status)));
        }
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet.is_empty() || applet == "busybox" || applet.contains('/') {
                continue;
            }
            symlink("busybox", bin.join(applet))?;
        }
        Ok(Self { dir })
    }

    /// The bundle directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The rootfs directory (absolute).
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Write `spec` as the bundle's config.json.
    pub fn write_config(&self, spec: &Spec) -> TestResult {
        let json = serde_json::to_vec_pretty(spec)?;
        std::fs::write(self.dir.join("config.json"), json)?;
        Ok(())
    }
}

/// The busybox the bundles are made from.
pub const BUSYBOX: &str = "/bin/busybox";

/// The default spec with `terminal: false`, these args, and `root.path` set
/// to `root` (relative to the bundle, or absolute). The cgroup mount is
/// kept: skiff mounts it on this host's hybrid hierarchy.
pub fn spec(args: &[&str], root: &Path) -> Spec {
    let mut spec = skiff_core::default_spec();
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(false));
        process.set_args(Some(args.iter().map(|&a| a.to_owned()).collect()));
    }
    if let Some(r) = spec.root_mut() {
        r.set_path(root.to_owned());
    }
    spec
}
