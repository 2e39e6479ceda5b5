//! eBPF instructions (Documentation/bpf/standardization/instruction-set.rst):
//! only the opcodes the device filter needs.

/// One 8-byte instruction: `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Insn {
    pub(crate) code: u8,
    /// dst in the low nibble, src in the high one.
    pub(crate) regs: u8,
    pub(crate) off: i16,
    pub(crate) imm: i32,
}

// Opcode = class | size/op | source.
pub(crate) const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub(crate) const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub(crate) const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub(crate) const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
pub(crate) const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub(crate) const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub(crate) const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// Registers: r0 holds the result, r1 the context on entry.
pub(crate) const R0: u8 = 0;
pub(crate) const R1: u8 = 1;
pub(crate) const R2: u8 = 2;
pub(crate) const R3: u8 = 3;
pub(crate) const R4: u8 = 4;
pub(crate) const R5: u8 = 5;

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    #[cfg(test)]
    pub(crate) const fn dst(self) -> usize {
        (self.regs & 0x0f) as usize
    }

    #[cfg(test)]
    pub(crate) const fn src(self) -> usize {
        (self.regs >> 4) as usize
    }

    /// `dst = *(u32 *)(src + off)`
    pub(crate) const fn load_u32(dst: u8, src: u8, off: i16) -> Self {
        Self::new(LDX_MEM_W, dst, src, off, 0)
    }

    /// `dst = (u32)(dst & imm)`
    pub(crate) const fn and32(dst: u8, imm: i32) -> Self {
        Self::new(ALU32_AND_K, dst, 0, 0, imm)
    }

    /// `dst = (u32)dst >> imm`
    pub(crate) const fn rsh32(dst: u8, imm: i32) -> Self {
        Self::new(ALU32_RSH_K, dst, 0, 0, imm)
    }

    /// `dst = (u32)imm`
    pub(crate) const fn mov32_imm(dst: u8, imm: i32) -> Self {
        Self::new(ALU32_MOV_K, dst, 0, 0, imm)
    }

    /// `dst = (u32)src`
    pub(crate) const fn mov32_reg(dst: u8, src: u8) -> Self {
        Self::new(ALU32_MOV_X, dst, src, 0, 0)
    }

    /// `if dst != imm goto pc + 1 + off`
    pub(crate) const fn jne(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(JMP_JNE_K, dst, 0, off, imm)
    }

    /// `return r0`
    pub(crate) const fn exit() -> Self {
        Self::new(JMP_EXIT, 0, 0, 0, 0)
    }
}
