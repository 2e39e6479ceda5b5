//! `containerd-shim-skiff-v2`: containerd's runtime v2 shim for skiff
//! (runtime type `io.containerd.skiff.v2`). Containers are created, started,
//! signalled and deleted in-process through skiff-core; the `skiff` CLI is
//! never run.
//!
//! containerd runs the binary as `... start` (fork the long-lived server and
//! print its ttrpc address), `... delete` (clean up after a shim that died),
//! and the server itself; `-v` prints the version and `-info` the runtime's
//! description (containerd 2.x asks for it).

mod error;
mod events;
mod liveness;
mod metrics;
mod oom;
mod reaper;
mod rootfs;
mod service;
mod state;
mod stdio;
mod task;

use std::io::Write;

use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::Message;
use containerd_shim::protos::types::introspection::{RuntimeInfo, RuntimeVersion};

/// The runtime type containerd knows this shim by.
const RUNTIME_ID: &str = "io.containerd.skiff.v2";

/// The type URL containerd gives the OCI features document.
const FEATURES_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/features/Features";

fn flag(args: &[String], names: &[&str]) -> bool {
    args.iter().any(|a| {
        let a = a.trim_start_matches('-');
        names.contains(&a)
    })
}

fn print_info() -> std::io::Result<()> {
    let info = RuntimeInfo {
        name: RUNTIME_ID.to_owned(),
        version: Some(RuntimeVersion {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        })
        .into(),
        features: Some(Any {
            type_url: FEATURES_TYPE.to_owned(),
            value: skiff_core::features().to_string().into_bytes(),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    let bytes = info
        .write_to_bytes()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()
}

fn main() {
    // First: this binary is also the containers' init (skiff-core re-executes it).
    skiff_core::init_if_requested();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if flag(&args, &["v", "version"]) {
        println!(
            "containerd-shim-skiff-v2:\n  Version: {}\n  Runtime: {RUNTIME_ID}",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if flag(&args, &["info"]) {
        if let Err(e) = print_info() {
            eprintln!("containerd-shim-skiff-v2: -info: {e}");
            std::process::exit(1);
        }
        return;
    }
    // One malloc arena for every thread: glibc gives each thread that
    // allocates its own (up to 8 per core), each a few dozen KB resident,
    // and the shim's threads mostly sleep.
    // SAFETY: mallopt takes two integers; called before any thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    // Before any thread exists, so that every thread has it blocked and only
    // the reaper's signalfd sees it.
    if let Err(e) = reaper::block_sigchld() {
        eprintln!("containerd-shim-skiff-v2: block SIGCHLD: {e}");
        std::process::exit(1);
    }
    let config = containerd_shim::Config {
        // The reaper of this crate would steal skiff-core's children.
        no_reaper: true,
        ..Default::default()
    };
    containerd_shim::run::<service::Service>(RUNTIME_ID, Some(config));
}
