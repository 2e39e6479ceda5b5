//! The library called from a busy multithreaded process: threads that churn
//! the allocator and hold locks (a mutex, stdout) while other threads create,
//! start, exec into, kill, wait for and delete containers concurrently.
//!
//! A fork-unsafe step between fork and exec (an allocation, a lock) would
//! deadlock or crash here; the runner's watchdog turns a hang into a failure.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::{ensure, fail, spec, state_root, Bundle, Failure, Test, TestResult};
use nix::sys::signal::Signal;
use skiff_core::{ContainerBuilder, ExecOptions, ExitStatus, Status};

/// Threads that churn the allocator and hold locks.
const CHURNERS: usize = 8;
/// Threads that drive containers (the main thread is one of them).
const WORKERS: usize = 4;
/// Containers per worker.
const PER_WORKER: usize = 10;

fn main() -> ExitCode {
    skiff_core::init_if_requested();
    common::run(
        &[Test {
            name: "concurrent_lifecycles_under_malloc_churn",
            run: concurrent_lifecycles_under_malloc_churn,
        }],
        Duration::from_secs(120),
    )
}

/// A small xorshift generator: the churn needs variety, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap_or(0)
    }
}

/// Allocate and free blocks of every size class, with `shared` and stdout
/// locked part of the time, until `stop`.
fn churn(seed: u64, stop: &AtomicBool, shared: &Mutex<Vec<String>>, rounds: &AtomicU64) {
    let mut rng = Rng(seed | 1);
    let mut held: Vec<Vec<u8>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..64 {
            let size = match rng.below(16) {
                0..=7 => rng.below(64),
                8..=12 => rng.below(4096),
                13 | 14 => rng.below(256 * 1024),
                _ => 1 << 20, // above the mmap threshold
            };
            held.push(vec![0x5a; size]);
            if held.len() > 32 {
                let victim = rng.below(held.len() as u64);
                held.swap_remove(victim);
            }
        }
        {
            // Allocate while holding the mutex, so that a fork often
            // happens with it (and the allocator's locks) taken.
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            guard.push(format!("{seed}:{}", rng.next()));
            if guard.len() > 1000 {
                guard.clear();
            }
        }
        {
            let mut out = std::io::stdout().lock();
            let block: Vec<u8> = Vec::with_capacity(rng.below(8192));
            let _ = out.write_all(&block); // empty: hold the lock, print nothing
            std::thread::yield_now();
        }
        rounds.fetch_add(1, Ordering::Relaxed);
    }
}

/// One worker's containers: even ones exit with a code of their own; odd ones
/// sleep, get an exec that exits with that code, then a SIGKILL.
fn worker(w: usize, bundle: &Path, root: &Path) -> Result<usize, Failure> {
    let mut done = 0;
    for i in 0..PER_WORKER {
        let id = format!("mt-{w}-{i}");
        let code = i32::try_from(1 + w * PER_WORKER + i)?;
        let exit = format!("exit {code}");
        let args: Vec<&str> = if i % 2 == 0 {
            vec!["sh", "-c", &exit]
        } else {
            vec!["sleep", "1000"]
        };
        let mut c = ContainerBuilder::new(&id, root)
            .bundle(bundle)
            .spec(spec(&args, Path::new("rootfs")))
            .create()
            .map_err(|e| fail(format!("create {id}: {e}")))?;
        ensure!(c.status() == Status::Created, "{id}: {}", c.status());
        c.start().map_err(|e| fail(format!("start {id}: {e}")))?;
        if i % 2 == 0 {
            let status = c.wait()?;
            ensure!(status == ExitStatus::Exited(code), "{id}: {status:?}");
        } else {
            let mut process = skiff_core::default_spec()
                .process()
                .clone()
                .ok_or_else(|| fail("default spec has no process"))?;
            process.set_terminal(Some(false));
            process.set_args(Some(vec!["sh".into(), "-c".into(), exit]));
            let p = c
                .exec(ExecOptions::new(process))
                .map_err(|e| fail(format!("exec {id}: {e}")))?;
            let status = p.wait()?;
            ensure!(
                status == ExitStatus::Exited(code),
                "exec in {id}: {status:?}"
            );
            c.kill(Signal::SIGKILL, false)?;
            let status = c.wait()?;
            ensure!(
                status == ExitStatus::Signaled(Signal::SIGKILL),
                "{id}: {status:?}"
            );
        }
        ensure!(c.status() == Status::Stopped, "{id}: {}", c.status());
        c.delete(false)
            .map_err(|e| fail(format!("delete {id}: {e}")))?;
        done += 1;
    }
    Ok(done)
}

fn concurrent_lifecycles_under_malloc_churn() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let stop = AtomicBool::new(false);
    let shared = Mutex::new(Vec::new());
    let rounds = AtomicU64::new(0);
    let lists = AtomicU64::new(0);

    let (results, list_error) = std::thread::scope(|s| {
        for t in 0..CHURNERS {
            let (stop, shared, rounds) = (&stop, &shared, &rounds);
            s.spawn(move || churn(0x9e37_79b9 + t as u64, stop, shared, rounds));
        }
        // A reader of the state root while containers come and go.
        let lister = s.spawn(|| -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                let states = skiff_core::list(&root).map_err(|e| e.to_string())?;
                if let Some(bad) = states.iter().find(|s| !s.id.starts_with("mt-")) {
                    return Err(format!("list returned {bad:?}"));
                }
                lists.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        });
        let workers: Vec<_> = (1..WORKERS)
            .map(|w| {
                let (bundle, root) = (bundle.path(), root.as_path());
                s.spawn(move || worker(w, bundle, root))
            })
            .collect();
        // The main thread is worker 0.
        let mut results = vec![worker(0, bundle.path(), &root)];
        for w in workers {
            results.push(w.join().unwrap_or_else(|_| Err(fail("worker panicked"))));
        }
        stop.store(true, Ordering::Relaxed);
        let list_error = lister
            .join()
            .unwrap_or_else(|_| Err("lister panicked".into()))
            .err();
        (results, list_error)
    });

    let mut total = 0;
    for (w, r) in results.into_iter().enumerate() {
        total += r.map_err(|Failure(e)| fail(format!("worker {w}: {e}")))?;
    }
    ensure!(
        total == WORKERS * PER_WORKER,
        "{total} of {} containers ran",
        WORKERS * PER_WORKER
    );
    if let Some(e) = list_error {
        return Err(fail(format!("list during the run: {e}")));
    }
    ensure!(
        rounds.load(Ordering::Relaxed) > 0 && lists.load(Ordering::Relaxed) > 0,
        "the churn and list threads did not run"
    );
    ensure!(
        skiff_core::list(&root)?.is_empty(),
        "containers left under the state root"
    );
    println!(
        "    {total} containers; {} churn rounds, {} lists meanwhile",
        rounds.load(Ordering::Relaxed),
        lists.load(Ordering::Relaxed)
    );
    Ok(())
}
