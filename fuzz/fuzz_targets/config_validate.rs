//! config.json bytes → parse → validate: never a panic, whatever the bytes.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One bundle (with an empty rootfs) for every input.
fn bundle() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        std::fs::create_dir_all(dir.join("rootfs")).expect("rootfs");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = skiff_core::fuzzing::validate_config(data, bundle());
});
