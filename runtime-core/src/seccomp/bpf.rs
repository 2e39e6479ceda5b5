//! A small classic-BPF assembler: instructions with symbolic jump targets,
//! laid out with jump relaxation.
//!
//! A conditional jump has 8-bit offsets, `ja` a 32-bit one. The compiler
//! writes every jump against a [`Label`]; [`Asm::finish`] places the code
//! and, where a conditional target lies more than 255 instructions ahead,
//! rewrites that jump into a short conditional jump over `ja` trampolines,
//! repeating until every offset fits.

use libc::sock_filter;

// Instruction classes, sizes, modes and operations of classic BPF
// (linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_AND: u16 = 0x50;
const BPF_K: u16 = 0x00;
const BPF_JA: u16 = 0x00;

/// A conditional jump's comparison of the accumulator with a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
}

/// A jump target, bound to a place in the program with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Insn {
    /// `ld [off]`: a 32-bit word of `struct seccomp_data`.
    Load(u32),
    /// `and #k`.
    And(u32),
    /// `jxx #k, jt, jf`.
    Jump(Cmp, u32, Label, Label),
    /// `ja label`.
    Goto(Label),
    /// `ret #k`.
    Ret(u32),
    /// Not an instruction: where a label points.
    Bind(Label),
}

/// The program under construction.
#[derive(Debug, Default)]
pub(super) struct Asm {
    code: Vec<Insn>,
    labels: usize,
}

/// The layout failed: a label used but never bound, or a program longer
/// than a 32-bit jump can span. Both are compiler bugs, never input errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LayoutError;

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    pub(super) fn bind(&mut self, l: Label) {
        self.code.push(Insn::Bind(l));
    }

    pub(super) fn load(&mut self, offset: u32) {
        self.code.push(Insn::Load(offset));
    }

    pub(super) fn and(&mut self, k: u32) {
        self.code.push(Insn::And(k));
    }

    pub(super) fn jump(&mut self, cmp: Cmp, k: u32, jt: Label, jf: Label) {
        self.code.push(Insn::Jump(cmp, k, jt, jf));
    }

    pub(super) fn goto(&mut self, l: Label) {
        self.code.push(Insn::Goto(l));
    }

    pub(super) fn ret(&mut self, k: u32) {
        self.code.push(Insn::Ret(k));
    }

    /// Lay the program out and encode it.
    pub(super) fn finish(self) -> Result<Vec<sock_filter>, LayoutError> {
        // far[i]: the conditional jump at code[i] is emitted long-form.
        let mut far = vec![false; self.code.len()];
        loop {
            let (pos, targets) = self.place(&far)?;
            let mut changed = false;
            for (i, insn) in self.code.iter().enumerate() {
                if let Insn::Jump(_, _, jt, jf) = insn {
                    if far[i] {
                        continue;
                    }
                    let from = pos[i] + 1;
                    if targets[jt.0] - from > 255 || targets[jf.0] - from > 255 {
                        far[i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.encode(&far, &pos, &targets);
            }
        }
    }

    /// Where each instruction and each label lands with `far` expanded.
    /// Jumps only go forward: a backward target is a layout error.
    fn place(&self, far: &[bool]) -> Result<(Vec<usize>, Vec<usize>), LayoutError> {
        let mut pos = Vec::with_capacity(self.code.len());
        let mut targets = vec![usize::MAX; self.labels];
        let mut at = 0usize;
        for (i, insn) in self.code.iter().enumerate() {
            pos.push(at);
            at += match insn {
                Insn::Bind(l) => {
                    targets[l.0] = at;
                    0
                }
                Insn::Jump(..) if far[i] => 3,
                _ => 1,
            };
        }
        if targets.contains(&usize::MAX) {
            return Err(LayoutError);
        }
        for (i, insn) in self.code.iter().enumerate() {
            let forward = |l: &Label| targets[l.0] > pos[i];
            let ok = match insn {
                Insn::Jump(_, _, jt, jf) => forward(jt) && forward(jf),
                Insn::Goto(l) => forward(l),
                _ => true,
            };
            if !ok {
                return Err(LayoutError);
            }
        }
        Ok((pos, targets))
    }

    fn encode(
        &self,
        far: &[bool],
        pos: &[usize],
        targets: &[usize],
    ) -> Result<Vec<sock_filter>, LayoutError> {
        let mut out = Vec::with_capacity(pos.last().map_or(0, |p| p + 3));
        let off = |from: usize, to: usize| u32::try_from(to - from).map_err(|_| LayoutError);
        for (i, insn) in self.code.iter().enumerate() {
            let next = pos[i] + 1;
            match *insn {
                Insn::Bind(_) => {}
                Insn::Load(k) => out.push(stmt(BPF_LD | BPF_W | BPF_ABS, k)),
                Insn::And(k) => out.push(stmt(BPF_ALU | BPF_AND | BPF_K, k)),
                Insn::Ret(k) => out.push(stmt(BPF_RET | BPF_K, k)),
                Insn::Goto(l) => out.push(stmt(BPF_JMP | BPF_JA, off(next, targets[l.0])?)),
                Insn::Jump(cmp, k, jt, jf) if far[i] => {
                    // jxx k, 0, 1; ja jt; ja jf
                    out.push(jump(cmp, k, 0, 1));
                    out.push(stmt(BPF_JMP | BPF_JA, off(next + 1, targets[jt.0])?));
                    out.push(stmt(BPF_JMP | BPF_JA, off(next + 2, targets[jf.0])?));
                }
                Insn::Jump(cmp, k, jt, jf) => {
                    let short = |t: usize| u8::try_from(t - next).map_err(|_| LayoutError);
                    out.push(jump(cmp, k, short(targets[jt.0])?, short(targets[jf.0])?));
                }
            }
        }
        Ok(out)
    }
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(cmp: Cmp, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: BPF_JMP | cmp as u16 | BPF_K,
        jt,
        jf,
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_conditional_jumps_get_trampolines() {
        let mut a = Asm::default();
        let (yes, no) = (a.label(), a.label());
        a.load(0);
        a.jump(Cmp::Eq, 7, yes, no);
        a.bind(no);
        for _ in 0..300 {
            a.ret(1);
        }
        a.bind(yes);
        a.ret(2);
        let prog = a.finish().expect("layout");
        // ld, jeq 0/1, ja 300 (yes), ja 0 (no), 300 x ret, ret.
        assert_eq!(prog.len(), 1 + 3 + 300 + 1);
        assert_eq!((prog[1].jt, prog[1].jf), (0, 1));
        assert_eq!(prog[2].k, 301);
        assert_eq!(prog[3].k, 0);
    }

    #[test]
    fn unbound_label_is_an_error() {
        let mut a = Asm::default();
        let l = a.label();
        a.goto(l);
        assert_eq!(a.finish().map(|p| p.len()), Err(LayoutError));
    }
}
