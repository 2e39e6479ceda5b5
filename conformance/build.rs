//! Builds a static copy of the probe for the container bundles.
//!
//! The probe is copied into root filesystems that hold nothing but busybox, so it must not need
//! a dynamic loader or a libc on disk. Cargo cannot give one binary of a workspace its own
//! rustflags, and link arguments alone cannot make std static (rustc would still ask for
//! libgcc_s and a PIE interpreter), so this script compiles `src/bin/probe.rs` — which depends
//! on std only — once more with `rustc -C target-feature=+crt-static` into `OUT_DIR`. The
//! harness finds it through the `SKIFF_STATIC_PROBE` variable set here at compile time.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/bin/probe.rs");

    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| ".".into()));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let source = manifest.join("src/bin/probe.rs");
    let output = out_dir.join("skiff-probe-static");

    let mut cmd = Command::new(rustc);
    cmd.arg("--edition=2021")
        .arg("--crate-name=skiff_probe")
        .arg("--crate-type=bin")
        .args(["-C", "target-feature=+crt-static"])
        .args(["-C", "opt-level=1"])
        .args(["-C", "debuginfo=0"])
        .arg("-o")
        .arg(&output)
        .arg(&source);
    if let Ok(target) = std::env::var("TARGET") {
        cmd.arg("--target").arg(target);
    }
    let failure = match cmd.status() {
        Ok(status) if status.success() => None,
        Ok(status) => Some(format!("rustc exited with {status}")),
        Err(e) => Some(format!("cannot run rustc: {e}")),
    };
    if let Some(why) = failure {
        eprintln!(
            "building the static probe from {} failed: {why}",
            source.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rustc-env=SKIFF_STATIC_PROBE={}", output.display());
}
