//! `skiff-bench`: skiff side by side with runc and crun.
//!
//! Builds one busybox bundle, then times `run`, `create`, `start` and
//! `delete -f` for each runtime in one interleaved loop, records the peak
//! RSS of the runtime process and each binary's size, and prints a table
//! (or JSON). It moves itself into a private mount namespace first, with
//! the hybrid cgroup2 mount removed there, so that crun accepts the host.
//!
//! The report also has the seccomp section (`seccomp.rs`): the compile
//! time of the containers-common default profile, skiff against
//! libseccomp. `skiff-bench seccomp` runs that section alone (no root, no
//! containers).

mod bundle;
mod error;
mod harness;
mod measure;
mod namespace;
mod report;
mod seccomp;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::error::{io, BenchError, Result};
use crate::harness::{Entry, Plan};
use crate::measure::{find_in_path, Runtime};
use crate::report::{Report, RuntimeResult, Status};

/// What the container runs.
const CONTAINER_ARGS: &[&str] = &["/bin/true"];

/// Default skiff binary: the workspace's release build.
fn default_skiff() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or(manifest)
        .join("target/release/skiff")
}

#[derive(Debug, Parser)]
#[command(
    name = "skiff-bench",
    about = "Time skiff, runc and crun side by side (run, create, start, delete -f; RSS; size), and skiff's seccomp compiler against libseccomp"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Measured iterations per runtime [env: SKIFF_BENCH_ITERATIONS; default 50]
    #[arg(short = 'n', long)]
    iterations: Option<usize>,
    /// Untimed warm-up rounds before measuring
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// One iteration, no warm-up (a smoke test of the harness)
    #[arg(long)]
    quick: bool,
    /// Runtimes to compare, comma separated
    #[arg(long, value_delimiter = ',', default_value = "skiff,runc,crun")]
    runtimes: Vec<String>,
    /// skiff binary [env: SKIFF_BIN; default <workspace>/target/release/skiff]
    #[arg(long)]
    skiff: Option<PathBuf>,
    /// runc binary [env: RUNC_BIN; default: runc on PATH]
    #[arg(long)]
    runc: Option<PathBuf>,
    /// crun binary [env: CRUN_BIN; default: crun on PATH]
    #[arg(long)]
    crun: Option<PathBuf>,
    /// Static busybox for the rootfs [default: busybox on PATH]
    #[arg(long)]
    busybox: Option<PathBuf>,
    /// Print JSON instead of the table
    #[arg(long)]
    json: bool,
    /// Stay in the current mount namespace (crun will refuse a hybrid host)
    #[arg(long)]
    no_unshare: bool,
    /// Kill a runtime invocation that takes longer than this many seconds
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Keep the temporary directory (bundle, state roots, logs)
    #[arg(long)]
    keep: bool,
    /// Rounds of the seccomp compile comparison (0: leave it out)
    #[arg(long, default_value_t = SECCOMP_ROUNDS)]
    seccomp_rounds: usize,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Only the seccomp compile time: the containers-common default
    /// profile compiled by skiff and by libseccomp, alternating
    Seccomp(SeccompArgs),
}

#[derive(Debug, clap::Args)]
struct SeccompArgs {
    /// Timed rounds (each compiles once with each)
    #[arg(short = 'n', long, default_value_t = SECCOMP_ROUNDS)]
    rounds: usize,
    /// Untimed rounds before measuring
    #[arg(long, default_value_t = SECCOMP_WARMUP)]
    warmup: usize,
    /// The containers-common profile (the OCI form is made from it)
    #[arg(long, default_value = skiff_core::bench::CONTAINERS_COMMON)]
    profile: PathBuf,
    /// Print JSON instead of the table
    #[arg(long)]
    json: bool,
}

/// Default rounds and warm-up of the seccomp comparison (a round takes
/// tens of milliseconds, nearly all of it libseccomp's).
const SECCOMP_ROUNDS: usize = 200;
const SECCOMP_WARMUP: usize = 10;
/// With `--quick`.
const SECCOMP_QUICK_ROUNDS: usize = 3;

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match &args.command {
        Some(Sub::Seccomp(sargs)) => seccomp_main(sargs),
        None => real_main(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("skiff-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: &Args) -> Result<ExitCode> {
    // Namespace first: unshare(CLONE_NEWNS) wants a single-threaded process.
    let (private_ns, unified_unmounted) = if args.no_unshare {
        (false, false)
    } else {
        match namespace::enter_private_mount_ns() {
            Ok(unmounted) => (true, unmounted),
            Err(err) => {
                eprintln!("skiff-bench: warning: no private mount namespace: {err}");
                (false, false)
            }
        }
    };
    namespace::become_subreaper()?;
    namespace::install_interrupt_flag()?;

    let (iterations, warmup) = if args.quick {
        (1, 0)
    } else {
        (iterations_from(args.iterations)?, args.warmup)
    };

    let tmp = tempfile::Builder::new()
        .prefix("skiff-bench-")
        .tempdir()
        .map_err(io("create temporary directory"))?;
    let outcome = bench(args, tmp.path(), iterations, warmup);
    namespace::reap_orphans();
    if args.keep {
        let kept = tmp.keep();
        eprintln!("skiff-bench: kept {}", kept.display());
    } else {
        tmp.close().map_err(io("remove temporary directory"))?;
    }
    let (results, was_interrupted) = outcome?;

    let any_data = results.iter().any(RuntimeResult::has_data);
    let mut report = Report::new(
        iterations,
        warmup,
        CONTAINER_ARGS,
        private_ns,
        unified_unmounted,
        was_interrupted,
        results,
    );
    let rounds = if args.quick {
        SECCOMP_QUICK_ROUNDS.min(args.seccomp_rounds)
    } else {
        args.seccomp_rounds
    };
    if rounds > 0 && !was_interrupted {
        let plan = seccomp::Plan {
            rounds,
            warmup: if args.quick { 0 } else { SECCOMP_WARMUP },
        };
        let path = Path::new(skiff_core::bench::CONTAINERS_COMMON);
        match seccomp::run(path, plan) {
            Ok(s) => report.seccomp = Some(s),
            Err(err) => {
                eprintln!("skiff-bench: skipping the seccomp comparison: {err}");
                report.seccomp_error = Some(err.to_string());
            }
        }
    }
    print_report(&report, args.json, || report.table())?;
    Ok(if any_data && !was_interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `skiff-bench seccomp`: the seccomp section alone.
fn seccomp_main(args: &SeccompArgs) -> Result<ExitCode> {
    let report = seccomp::run(
        &args.profile,
        seccomp::Plan {
            rounds: args.rounds,
            warmup: args.warmup,
        },
    )?;
    print_report(&report, args.json, || report.table())?;
    Ok(ExitCode::SUCCESS)
}

/// Print `report` as pretty JSON (`--json`), or as its `table`.
fn print_report(
    report: &impl serde::Serialize,
    json: bool,
    table: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(report).map_err(|source| BenchError::Json {
            what: "serialise report".into(),
            source,
        })?;
        println!("{text}");
    } else {
        print!("{}", table());
    }
    Ok(())
}

/// `--iterations`, else `SKIFF_BENCH_ITERATIONS`, else 50.
fn iterations_from(flag: Option<usize>) -> Result<usize> {
    if let Some(n) = flag {
        return Ok(n);
    }
    match std::env::var("SKIFF_BENCH_ITERATIONS") {
        Ok(s) => s.trim().parse().map_err(|_| BenchError::Invalid {
            what: "SKIFF_BENCH_ITERATIONS".into(),
            value: s.clone(),
        }),
        Err(_) => Ok(50),
    }
}

/// Build the bundle, run the loop, clean up. Everything lives in `tmp`.
fn bench(
    args: &Args,
    tmp: &Path,
    iterations: usize,
    warmup: usize,
) -> Result<(Vec<RuntimeResult>, bool)> {
    let mut entries = Vec::new();
    let mut results = Vec::new();
    for name in &args.runtimes {
        let name = name.trim();
        match prepare(args, tmp, name) {
            Ok(entry) => entries.push(entry),
            Err(result) => {
                eprintln!(
                    "skiff-bench: skipping {name}: {}",
                    result.error.as_deref().unwrap_or("unavailable")
                );
                results.push(*result);
            }
        }
    }

    let busybox = args
        .busybox
        .clone()
        .or_else(|| find_in_path("busybox"))
        .ok_or_else(|| BenchError::Missing {
            name: "busybox".into(),
            path: PathBuf::from("$PATH"),
        })?;
    let bundle_dir = tmp.join("bundle");
    let bundle = bundle::build(&bundle_dir, &busybox, CONTAINER_ARGS)?;

    let plan = Plan {
        bundle: &bundle,
        iterations,
        warmup,
        timeout: Duration::from_secs(args.timeout.max(1)),
        progress: !args.quick && std::io::stderr().is_terminal(),
    };
    let was_interrupted = harness::run(&mut entries, &plan);
    for entry in &entries {
        harness::cleanup(&entry.runtime, &entry.scratch);
    }
    results.extend(entries.into_iter().map(|e| e.result));
    // Keep the requested order in the report.
    results.sort_by_key(|r| {
        args.runtimes
            .iter()
            .position(|n| n.trim() == r.name)
            .unwrap_or(usize::MAX)
    });
    Ok((results, was_interrupted))
}

/// Resolve a runtime's binary and make its state root. On failure, returns
/// the result to report (status `missing`).
fn prepare(args: &Args, tmp: &Path, name: &str) -> std::result::Result<Entry, Box<RuntimeResult>> {
    let path = runtime_path(args, name);
    let shown = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("{name} (not on PATH)"));
    let mut result = RuntimeResult::new(name, &shown);
    let missing = |mut result: RuntimeResult, msg: String| {
        result.status = Status::Missing;
        result.error = Some(msg);
        Box::new(result)
    };
    let Some(path) = path else {
        return Err(missing(result, "not found".into()));
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => result.binary_size_bytes = Some(meta.len()),
        Ok(_) => return Err(missing(result, "not a regular file".into())),
        Err(err) => return Err(missing(result, err.to_string())),
    }
    result.version = version(&path);
    let root = tmp.join(format!("root-{name}"));
    let scratch = tmp.join(format!("scratch-{name}"));
    for dir in [&root, &scratch] {
        if let Err(err) = std::fs::create_dir_all(dir) {
            return Err(missing(result, format!("mkdir {}: {err}", dir.display())));
        }
    }
    Ok(Entry {
        runtime: Runtime {
            name: name.to_owned(),
            path,
            root,
        },
        result,
        scratch,
    })
}

/// Flag, then `<NAME>_BIN` env, then default.
fn runtime_path(args: &Args, name: &str) -> Option<PathBuf> {
    let flag = match name {
        "skiff" => args.skiff.clone(),
        "runc" => args.runc.clone(),
        "crun" => args.crun.clone(),
        _ => None,
    };
    flag.or_else(|| std::env::var_os(format!("{}_BIN", name.to_uppercase())).map(PathBuf::from))
        .or_else(|| match name {
            "skiff" => Some(default_skiff()),
            other => find_in_path(other),
        })
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// First line of `<bin> --version`, if it has one.
fn version(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}
