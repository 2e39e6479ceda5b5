//! linux.seccomp JSON → BPF: never a panic, and every program compiled is
//! structurally valid (see skiff_core::fuzzing::compile_seccomp).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    skiff_core::fuzzing::compile_seccomp(data);
});
