//! A tiny eBPF interpreter for the opcodes of `insn`, to run generated
//! device filters in tests as the kernel would.

use super::insn::*;

/// Run `prog` on a `bpf_cgroup_dev_ctx`; `None` if the program is malformed
/// (an unknown opcode, a jump out of bounds, a bad load, no exit).
pub(crate) fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> Option<u64> {
    const CTX: u64 = 0x1000; // the context's address in r1
    let ctx = [access_type, major, minor];
    let mut r = [0u64; 11];
    r[1] = CTX;
    let mut pc = 0usize;
    for _ in 0..4096 {
        let i = *prog.get(pc)?;
        let (d, s) = (i.dst(), i.src());
        pc += 1;
        match i.code {
            LDX_MEM_W => {
                let addr = r.get(s)?.checked_add_signed(i64::from(i.off))?;
                let word = addr.checked_sub(CTX).filter(|o| o % 4 == 0)? / 4;
                *r.get_mut(d)? = u64::from(*ctx.get(word as usize)?);
            }
            ALU32_AND_K => *r.get_mut(d)? = u64::from((r[d] as u32) & (i.imm as u32)),
            ALU32_RSH_K => *r.get_mut(d)? = u64::from((r[d] as u32) >> (i.imm as u32)),
            ALU32_MOV_K => *r.get_mut(d)? = u64::from(i.imm as u32),
            ALU32_MOV_X => *r.get_mut(d)? = u64::from(*r.get(s)? as u32),
            JMP_JNE_K => {
                if *r.get(d)? != i.imm as i64 as u64 {
                    pc = pc.checked_add_signed(isize::from(i.off))?;
                }
            }
            JMP_EXIT => return Some(r[0]),
            _ => return None,
        }
    }
    None
}
