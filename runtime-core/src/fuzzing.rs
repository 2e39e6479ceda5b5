//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing` only; not
//! an API). Each takes raw bytes as a user would write them and must never
//! panic; the seccomp one also checks the program it compiles.

use std::path::Path;

/// `config.json` bytes → parsed spec → validated against `bundle` (which
/// holds a `rootfs/` directory). The error text, or the rootfs path.
pub fn validate_config(bytes: &[u8], bundle: &Path) -> Result<String, String> {
    let spec =
        crate::spec::parse(bytes).map_err(|(field, message)| format!("{field}: {message}"))?;
    crate::spec::validate(&spec, bundle)
        .map(|rootfs| rootfs.display().to_string())
        .map_err(|e| e.to_string())
}

/// `linux.seccomp` JSON bytes → a BPF program for this machine. A program
/// that compiles must be one the kernel accepts structurally: 1..=4096
/// instructions, every jump in range, loads inside `seccomp_data`, a return
/// at the end; this panics (a fuzz finding) when it is not.
#[allow(clippy::panic)] // a panic is how a fuzz target reports a finding
pub fn compile_seccomp(bytes: &[u8]) {
    let Ok(profile) = serde_json::from_slice::<oci_spec::runtime::LinuxSeccomp>(bytes) else {
        return;
    };
    let Ok(program) = crate::seccomp::compile(&profile, oci_spec::runtime::Arch::ScmpArchNative)
    else {
        return;
    };
    if let Err(why) = check_program(program.instructions()) {
        panic!(
            "invalid program ({why}) for profile {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn check_program(prog: &[libc::sock_filter]) -> Result<(), String> {
    const BPF_JMP: u16 = 0x05;
    const BPF_RET: u16 = 0x06;
    const BPF_LD_W_ABS: u16 = 0x20;
    if prog.is_empty() || prog.len() > 4096 {
        return Err(format!("{} instructions", prog.len()));
    }
    for (i, insn) in prog.iter().enumerate() {
        let next = i + 1;
        if insn.code & 0x07 == BPF_JMP {
            let targets = if insn.code & 0xf0 == 0 {
                vec![next + insn.k as usize]
            } else {
                vec![next + insn.jt as usize, next + insn.jf as usize]
            };
            if targets.iter().any(|t| *t >= prog.len()) {
                return Err(format!("jump out of range at {i}"));
            }
        }
        if insn.code == BPF_LD_W_ABS && (insn.k % 4 != 0 || insn.k >= 64) {
            return Err(format!("load of [{}] at {i}", insn.k));
        }
    }
    match prog.last() {
        Some(last) if last.code & 0x07 == BPF_RET => Ok(()),
        _ => Err("no return at the end".into()),
    }
}
