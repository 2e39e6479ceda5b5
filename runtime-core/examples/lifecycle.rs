//! Create, start, wait for and delete a container from code.
//!
//! `cargo run --example lifecycle -- BUNDLE [ID]` runs the bundle's process
//! with its state under a temporary root and exits with its status.

use std::process::ExitCode;

use skiff_core::{ContainerBuilder, Error};

fn run(bundle: &str, id: &str) -> Result<i32, Error> {
    let root = std::env::temp_dir().join(format!("skiff-example-{}", std::process::id()));
    let mut container = ContainerBuilder::new(id, &root).bundle(bundle).create()?;
    println!(
        "created {} (pid {}), status {}",
        container.id(),
        container.pid(),
        container.status()
    );
    container.start()?;
    let status = container.wait()?;
    println!("exited: {status:?}");
    container.delete(false)?;
    let _ = std::fs::remove_dir(&root);
    Ok(status.code())
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
