//! Create, start, wait for and delete a container from code.
//!
//! `cargo run --example lifecycle -- BUNDLE [ID]` runs the bundle's process
//! with its state under a temporary root and exits with its status.

use std::path::Path;
use std::process::ExitCode;

use skiff_core::{ContainerBuilder, Error};

fn run(bundle: &str, id: &str) -> Result<i32, Error> {
    let root = std::env::temp_dir().join(format!("skiff-example-{}", std::process::id()));
    let result = run_in(&root, bundle, id);
    // Empty by now, unless a container could not be deleted.
    let _ = std::fs::remove_dir(&root);
    result
}

fn run_in(root: &Path, bundle: &str, id: &str) -> Result<i32, Error> {
    let mut container = ContainerBuilder::new(id, root).bundle(bundle).create()?;
    println!(
        "created {} (pid {}), status {}",
        container.id(),
        container.pid(),
        container.status()
    );
    match container.start().and_then(|()| container.wait()) {
        Ok(status) => {
            println!("exited: {status:?}");
            container.delete(false)?;
            Ok(status.code())
        }
        Err(e) => {
            // Leave nothing behind: kill what was created.
            let _ = container.delete(true);
            Err(e)
        }
    }
}

fn main() -> ExitCode {
    skiff_core::init_if_requested();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(bundle) = args.first() else {
        eprintln!("usage: lifecycle BUNDLE [ID]");
        return ExitCode::from(2);
    };
    let id = args.get(1).map(String::as_str).unwrap_or("example");
    match run(bundle, id) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("lifecycle: {e}");
            ExitCode::FAILURE
        }
    }
}
