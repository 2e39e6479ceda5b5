//! Syscall name → number tables per architecture, committed as Rust source
//! and regenerated with `generate.py` (see there for the sources).

mod aarch64;
mod arm;
mod riscv64;
mod x32;
mod x86;
mod x86_64;

use super::arch::Abi;

/// The number of syscall `name` on `abi`, or `None` where that
/// architecture has no such call.
pub(super) fn resolve(abi: Abi, name: &str) -> Option<u32> {
    let table = match abi {
        Abi::X86_64 => x86_64::TABLE,
        Abi::X86 => x86::TABLE,
        Abi::X32 => x32::TABLE,
        Abi::Aarch64 => aarch64::TABLE,
        Abi::Arm => arm::TABLE,
        Abi::Riscv64 => riscv64::TABLE,
    };
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| table[i].1)
}

/// Every name of every table (with repeats), for the tests.
#[cfg(test)]
pub(super) fn all_names() -> impl Iterator<Item = (&'static str, u32)> {
    [
        x86_64::TABLE,
        x86::TABLE,
        x32::TABLE,
        aarch64::TABLE,
        arm::TABLE,
        riscv64::TABLE,
    ]
    .into_iter()
    .flatten()
    .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for t in [
            x86_64::TABLE,
            x86::TABLE,
            x32::TABLE,
            aarch64::TABLE,
            arm::TABLE,
            riscv64::TABLE,
        ] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn known_numbers() {
        assert_eq!(resolve(Abi::X86_64, "getpid"), Some(39));
        assert_eq!(resolve(Abi::X86, "getpid"), Some(20));
        assert_eq!(resolve(Abi::X32, "getpid"), Some(0x4000_0000 + 39));
        assert_eq!(resolve(Abi::Aarch64, "getpid"), Some(172));
        assert_eq!(resolve(Abi::Arm, "getpid"), Some(20));
        assert_eq!(resolve(Abi::Arm, "breakpoint"), Some(0x0f_0001));
        assert_eq!(resolve(Abi::Aarch64, "open"), None);
        assert_eq!(resolve(Abi::X86_64, "no_such_call"), None);
    }
}
