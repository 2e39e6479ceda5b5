//! A classic-BPF interpreter for seccomp programs, written for the tests:
//! it runs skiff's and libseccomp's programs over the same inputs.
//! Semantics as the kernel's (net/core/filter.c, seccomp's checker): loads
//! are 32-bit words of `struct seccomp_data`, jumps go forward only.

use libc::sock_filter;

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Data {
    pub(crate) nr: u32,
    pub(crate) arch: u32,
    pub(crate) ip: u64,
    pub(crate) args: [u64; 6],
}

impl Data {
    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        b
    }
}

/// Run `prog` on `d`: the action it returns, or why it is invalid.
pub(crate) fn run(prog: &[sock_filter], d: &Data) -> Result<u32, String> {
    let data = d.bytes();
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    let word = |k: u32| -> Result<u32, String> {
        let k = k as usize;
        if k % 4 != 0 || k + 4 > data.len() {
            return Err(format!("load of [{k}] outside seccomp_data"));
        }
        let mut w = [0u8; 4];
        w.copy_from_slice(&data[k..k + 4]);
        Ok(u32::from_ne_bytes(w))
    };
    loop {
        let i = prog
            .get(pc)
            .ok_or_else(|| format!("pc {pc} ran off the program"))?;
        pc += 1;
        let src = if i.code & 0x08 != 0 { x } else { i.k };
        match i.code & 0x07 {
            0x00 => {
                // BPF_LD
                a = match i.code & 0xe0 {
                    0x20 => word(i.k)?,
                    0x00 => i.k,
                    0x60 => *mem.get(i.k as usize).ok_or("bad mem")?,
                    0x80 => 64,
                    m => return Err(format!("ld mode {m:#x}")),
                }
            }
            0x01 => {
                // BPF_LDX
                x = match i.code & 0xe0 {
                    0x00 => i.k,
                    0x60 => *mem.get(i.k as usize).ok_or("bad mem")?,
                    0x80 => 64,
                    m => return Err(format!("ldx mode {m:#x}")),
                }
            }
            0x02 => *mem.get_mut(i.k as usize).ok_or("bad mem")? = a,
            0x03 => *mem.get_mut(i.k as usize).ok_or("bad mem")? = x,
            0x04 => {
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src).ok_or("div by 0")?,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src).ok_or("mod by 0")?,
                    0xa0 => a ^ src,
                    op => return Err(format!("alu op {op:#x}")),
                }
            }
            0x05 => {
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc += i.k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => return Err(format!("jmp op {op:#x}")),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            0x06 => {
                return Ok(match i.code & 0x18 {
                    0x10 => a,
                    _ => i.k,
                })
            }
            _ => {
                if i.code & 0xf8 == 0x00 {
                    x = a; // TAX
                } else {
                    a = x; // TXA
                }
            }
        }
    }
}
