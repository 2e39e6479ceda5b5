//! The cgroup v2 device filter: an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE generated from the device rules, loaded and
//! attached with bpf(2) (no libbpf).
//!
//! The kernel calls it with `struct bpf_cgroup_dev_ctx { u32 access_type;
//! u32 major; u32 minor; }`, where `access_type` is `access << 16 | type`;
//! it returns 1 to allow and 0 to deny. Rules are tried last to first and
//! the first that matches decides (a later rule overrides an earlier one, as
//! on v1); a request no rule matches is denied. A rule matches when its type
//! and numbers match (absent = any) and it grants every requested access.
//!
//! ```text
//!   r2 = ctx.access_type & 0xffff      (type: 1 block, 2 char)
//!   r3 = ctx.access_type >> 16         (access: 1 mknod, 2 read, 4 write)
//!   r4 = ctx.major; r5 = ctx.minor
//!   per rule, last first:
//!     if r2 != TYPE  goto next         (omitted for type a)
//!     if r4 != MAJOR goto next         (omitted for *)
//!     if r5 != MINOR goto next         (omitted for *)
//!     r1 = r3 & ~ACCESS; if r1 != 0 goto next   (omitted for rwm)
//!     r0 = ALLOW; exit
//!   r0 = 0; exit                     (left out after a rule with no test:
//!                                     the verifier refuses dead code)
//! ```

mod insn;
#[cfg(test)]
mod interp;
mod sys;

use std::path::Path;

use insn::{Insn, R0, R1, R2, R3, R4, R5};

use super::devices::{DeviceRule, Kind};
use super::CgroupError;

/// `bpf_cgroup_dev_ctx` type values.
pub(crate) const DEV_BLOCK: u32 = 1;
pub(crate) const DEV_CHAR: u32 = 2;

/// The program for `rules`.
pub(crate) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        Insn::load_u32(R2, R1, 0),
        Insn::and32(R2, 0xffff),
        Insn::load_u32(R3, R1, 0),
        Insn::rsh32(R3, 16),
        Insn::load_u32(R4, R1, 4),
        Insn::load_u32(R5, R1, 8),
    ];
    for rule in rules.iter().rev() {
        let (insns, unconditional) = block(rule);
        prog.extend(insns);
        if unconditional {
            // Whatever follows could never run, and the verifier refuses
            // unreachable instructions.
            return prog;
        }
    }
    prog.push(Insn::mov32_imm(R0, 0));
    prog.push(Insn::exit());
    prog
}

/// One rule's test: conditional jumps past the block's end, then the verdict;
/// and whether it has no test (it then decides every request).
fn block(rule: &DeviceRule) -> (Vec<Insn>, bool) {
    // (register, value) tests, and whether an access test comes after them.
    let mut tests: Vec<(u8, u32)> = Vec::new();
    match rule.kind {
        Kind::All => {}
        Kind::Block => tests.push((R2, DEV_BLOCK)),
        Kind::Char => tests.push((R2, DEV_CHAR)),
    }
    if let Some(major) = rule.major {
        tests.push((R4, major));
    }
    if let Some(minor) = rule.minor {
        tests.push((R5, minor));
    }
    let check_access = rule.access & 7 != 7;
    // Instructions after each jump up to the block's end.
    let len = tests.len() + if check_access { 3 } else { 0 } + 2;
    let mut out = Vec::with_capacity(len);
    for (reg, value) in tests {
        let rest = (len - out.len() - 1) as i16;
        out.push(Insn::jne(reg, value as i32, rest));
    }
    if check_access {
        out.push(Insn::mov32_reg(R1, R3));
        out.push(Insn::and32(R1, i32::from(!rule.access & 7)));
        let rest = (len - out.len() - 1) as i16;
        out.push(Insn::jne(R1, 0, rest));
    }
    out.push(Insn::mov32_imm(R0, i32::from(rule.allow)));
    out.push(Insn::exit());
    let unconditional = out.len() == 2;
    (out, unconditional)
}

/// Load the program for `rules` and attach it to the cgroup `dir`,
/// replacing the filters skiff attached before (so that an update never
/// leaves a moment without one).
pub(crate) fn attach_device_filter(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = program(rules);
    let cgroup = sys::open_dir(dir)?;
    let old = sys::query(&cgroup)?;
    let fd = sys::load(&prog)?;
    sys::attach(&cgroup, &fd)?;
    for id in old {
        sys::detach_id(&cgroup, id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
