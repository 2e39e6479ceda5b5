//! The interleaved benchmark loop and container cleanup.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{io, BenchError, Result};
use crate::measure::{Runtime, Sample};
use crate::namespace::{interrupted, reap_orphans};
use crate::report::{Op, RuntimeResult, Status};

/// A runtime being benchmarked together with what it has produced so far.
pub struct Entry {
    pub runtime: Runtime,
    pub result: RuntimeResult,
    /// Directory for this runtime's stderr / stdout scratch files.
    pub scratch: PathBuf,
}

impl Entry {
    fn active(&self) -> bool {
        self.result.status == Status::Ok
    }
}

/// Loop parameters.
pub struct Plan<'a> {
    pub bundle: &'a Path,
    pub iterations: usize,
    pub warmup: usize,
    pub timeout: Duration,
    pub progress: bool,
}

/// Run `warmup + iterations` rounds. In each round every still-healthy
/// runtime does one full cycle; the starting runtime rotates each round so
/// no runtime is always first. Returns true if interrupted.
pub fn run(entries: &mut [Entry], plan: &Plan<'_>) -> bool {
    let rounds = plan.warmup + plan.iterations;
    let n = entries.len();
    for round in 0..rounds {
        for k in 0..n {
            if interrupted() {
                return true;
            }
            let Some(entry) = entries.get_mut((round + k) % n) else {
                continue;
            };
            if !entry.active() {
                continue;
            }
            match cycle(entry, plan, round) {
                Ok(samples) => {
                    if round >= plan.warmup {
                        for (op, sample) in samples {
                            entry.result.samples.entry(op).or_default().push(sample);
                        }
                        entry.result.completed_iterations += 1;
                    }
                }
                Err(err) => {
                    if interrupted() {
                        return true;
                    }
                    eprintln!(
                        "skiff-bench: {} failed, skipping it: {err}",
                        entry.runtime.name
                    );
                    entry.result.status = Status::Failed;
                    entry.result.error = Some(err.to_string());
                    cleanup(&entry.runtime, &entry.scratch);
                }
            }
        }
        if plan.progress {
            let phase = if round < plan.warmup {
                "warm-up"
            } else {
                "round"
            };
            eprint!("\rskiff-bench: {phase} {}/{rounds} done", round + 1);
        }
    }
    if plan.progress && rounds > 0 {
        eprintln!();
    }
    false
}

/// One full cycle for one runtime: `run`, then `create` / `start` /
/// `delete -f` of a second container.
fn cycle(entry: &Entry, plan: &Plan<'_>, round: usize) -> Result<Vec<(Op, Sample)>> {
    let rt = &entry.runtime;
    let bundle = plan.bundle.to_string_lossy();
    let scratch = entry.scratch.join("cmd");
    let base = format!("skb-{}-{}-{round}", rt.name, std::process::id());
    let mut samples = Vec::with_capacity(4);

    // `run` in the foreground: the runtime waits for /bin/true and removes
    // the container itself.
    let run_id = format!("{base}-r");
    let result = rt.invoke(
        &["run", "--bundle", &bundle, &run_id],
        &scratch,
        false,
        plan.timeout,
    );
    reap_orphans();
    let run = result.inspect_err(|_| {
        let _ = rt.invoke(&["delete", "-f", &run_id], &scratch, false, plan.timeout);
        reap_orphans();
    })?;
    samples.push((Op::Run, run.sample));

    let id = format!("{base}-c");
    let outcome = (|| {
        let create = rt.invoke(
            &["create", "--bundle", &bundle, &id],
            &scratch,
            false,
            plan.timeout,
        )?;
        reap_orphans();
        samples.push((Op::Create, create.sample));

        // Not timed: check that `create` really created the container (a
        // runtime that exits 0 without doing anything must not win), and
        // learn its PID so we can wait for it to finish after `start`. That
        // makes `delete -f` act on a stopped container for every runtime
        // (runc polls in 100 ms steps when it has to kill a running one,
        // which would swamp the measurement).
        let state = rt.invoke(&["state", &id], &scratch, true, plan.timeout)?;
        let pid = created_pid(&state.stdout).map_err(|reason| BenchError::Unexpected {
            command: rt.describe(&["state", &id]),
            reason,
        })?;

        // `start` returns once the runtime has told the waiting init to
        // exec the process; that hand-off is what is timed.
        let start = rt.invoke(&["start", &id], &scratch, false, plan.timeout)?;
        samples.push((Op::Start, start.sample));
        wait_gone(pid, plan.timeout);
        reap_orphans();

        let delete = rt.invoke(&["delete", "-f", &id], &scratch, false, plan.timeout)?;
        reap_orphans();
        samples.push((Op::Delete, delete.sample));
        Ok::<_, BenchError>(())
    })();
    if outcome.is_err() {
        let _ = rt.invoke(&["delete", "-f", &id], &scratch, false, plan.timeout);
        reap_orphans();
    }
    outcome.map(|()| samples)
}

/// The PID from `state` output, which must describe a created container.
fn created_pid(state: &str) -> std::result::Result<i32, String> {
    let value: serde_json::Value = serde_json::from_str(state)
        .map_err(|e| format!("state is not JSON ({e}) after create: {state:?}"))?;
    let status = value.get("status").and_then(|s| s.as_str()).unwrap_or("");
    if status != "created" {
        return Err(format!(
            "status {status:?} after create, expected \"created\""
        ));
    }
    value
        .get("pid")
        .and_then(serde_json::Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("no pid in state after create: {state:?}"))
}

/// Wait (reaping as subreaper) until `pid` is gone or a zombie, or until
/// `timeout` passes.
fn wait_gone(pid: i32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let stat = format!("/proc/{pid}/stat");
    while Instant::now() < deadline {
        reap_orphans();
        match std::fs::read_to_string(&stat) {
            Err(_) => return,
            Ok(s) if process_state(&s) == Some('Z') => return,
            Ok(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

/// The state letter from a `/proc/PID/stat` line.
fn process_state(stat: &str) -> Option<char> {
    let after_comm = stat.rfind(')')?;
    stat.get(after_comm + 1..)?.trim_start().chars().next()
}

/// Best-effort removal of every container left in a runtime's `--root`.
pub fn cleanup(rt: &Runtime, scratch: &Path) {
    let ids = list_containers(&rt.root).unwrap_or_default();
    let scratch = scratch.join("cleanup");
    for id in ids {
        let _ = rt.invoke(
            &["delete", "-f", &id],
            &scratch,
            false,
            Duration::from_secs(30),
        );
        reap_orphans();
    }
    reap_orphans();
}

/// Directory entries under the state root (runc and crun keep one
/// directory per container there).
fn list_containers(root: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(root).map_err(io(format!("read {}", root.display())))? {
        let entry = entry.map_err(io(format!("read {}", root.display())))?;
        if entry.path().is_dir() {
            if let Some(name) = entry.file_name().to_str() {
                ids.push(name.to_owned());
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_state_pid() {
        let ok = created_pid(r#"{"id":"x","pid":42,"status":"created"}"#);
        assert_eq!(ok, Ok(42));
        assert!(created_pid(r#"{"id":"x","pid":0,"status":"created"}"#).is_err());
        assert!(created_pid(r#"{"id":"x","pid":42,"status":"stopped"}"#).is_err());
        assert!(created_pid("").is_err());
    }

    #[test]
    fn reads_process_state() {
        assert_eq!(process_state("12 (a (b) c) Z 1 2"), Some('Z'));
        assert_eq!(process_state("12 (sleep) S 1 2"), Some('S'));
        assert_eq!(process_state("nonsense"), None);
    }
}
