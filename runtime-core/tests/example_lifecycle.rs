//! The `lifecycle` example, run as a program against a busybox bundle.
//!
//! The example is built with `cargo build --example lifecycle` into the same
//! target directory and profile as this test (found from the test binary's
//! own path); if cargo is not at hand, a binary already built there is used.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::Duration;

use common::{ensure, fail, spec, Bundle, Failure, Test, TestResult};

fn main() -> ExitCode {
    skiff_core::init_if_requested();
    common::run(
        &[
            Test {
                name: "example_runs_a_bundle",
                run: example_runs_a_bundle,
            },
            Test {
                name: "example_reports_a_bad_bundle",
                run: example_reports_a_bad_bundle,
            },
            Test {
                name: "example_usage",
                run: example_usage,
            },
        ],
        // The first test may build the example.
        Duration::from_secs(300),
    )
}

/// `target/<profile>/examples/lifecycle`, next to `target/<profile>/deps/<this test>`.
fn example_path() -> Result<(PathBuf, PathBuf), Failure> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| {
            fail(format!(
                "{}: not under target/<profile>/deps",
                exe.display()
            ))
        })?
        .to_owned();
    Ok((profile_dir.join("examples").join("lifecycle"), profile_dir))
}

/// Build the example (a no-op when it is fresh) and return its path.
fn example() -> Result<PathBuf, Failure> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|Failure(e)| e))
        .clone()
        .map_err(Failure)
}

fn build() -> Result<PathBuf, Failure> {
    let (path, profile_dir) = example_path()?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| fail("no target directory"))?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| fail("no profile directory"))?;
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir)
        .args([
            "build",
            "--quiet",
            "-p",
            "skiff-core",
            "--example",
            "lifecycle",
        ]);
    if profile != "debug" {
        cmd.args(["--profile", profile]);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) if !path.exists() => {
            return Err(fail(format!(
                "cargo build --example lifecycle: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
        Err(e) if !path.exists() => {
            return Err(fail(format!(
                "{}: {e}; build the example first: cargo build --example lifecycle",
                cargo.display()
            )))
        }
        // A build that failed (e.g. the tree is mid-edit) leaves the
        // binary built before; use it.
        _ => eprintln!(
            "    (could not rebuild the example; using {})",
            path.display()
        ),
    }
    Ok(path)
}

/// Run the example with `args`; returns its output and the state root it used.
fn run_example(args: &[&Path]) -> Result<(Output, PathBuf), Failure> {
    let child = Command::new(example()?)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The example names its state root after its pid.
    let root = std::env::temp_dir().join(format!("skiff-example-{}", child.id()));
    let out = child.wait_with_output()?;
    Ok((out, root))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example_runs_a_bundle() -> TestResult {
    let bundle = Bundle::new()?;
    bundle.write_config(&spec(
        &["sh", "-c", "echo from-container; exit 5"],
        Path::new("rootfs"),
    ))?;
    let id = Path::new("example-test");
    let (out, root) = run_example(&[bundle.path(), id])?;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    ensure!(
        out.status.code() == Some(5),
        "exit {}; stdout {stdout:?}; stderr {stderr:?}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    ensure!(
        lines.first().is_some_and(
            |l| l.starts_with("created example-test (pid ") && l.ends_with("), status created")
        ),
        "stdout {stdout:?}"
    );
    ensure!(lines.contains(&"from-container"), "stdout {stdout:?}");
    ensure!(
        lines.last() == Some(&"exited: Exited(5)"),
        "stdout {stdout:?}"
    );
    ensure!(stderr.is_empty(), "stderr {stderr:?}");
    ensure!(!root.exists(), "{} left behind", root.display());
    Ok(())
}

fn example_reports_a_bad_bundle() -> TestResult {
    // A bundle without config.json.
    let bundle = Bundle::new()?;
    let (out, root) = run_example(&[bundle.path()])?;
    let stderr = text(&out.stderr);
    ensure!(out.status.code() == Some(1), "exit {}", out.status);
    ensure!(
        stderr.starts_with("lifecycle: ") && stderr.contains("config.json"),
        "stderr {stderr:?}"
    );
    ensure!(out.stdout.is_empty(), "stdout {:?}", text(&out.stdout));
    ensure!(!root.exists(), "{} left behind", root.display());
    Ok(())
}

fn example_usage() -> TestResult {
    let (out, _) = run_example(&[])?;
    ensure!(out.status.code() == Some(2), "exit {}", out.status);
    ensure!(
        text(&out.stderr).contains("usage: lifecycle BUNDLE [ID]"),
        "stderr {:?}",
        text(&out.stderr)
    );
    Ok(())
}
