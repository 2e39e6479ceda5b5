//! The architectures a filter can hold, and how the kernel names them.
//!
//! The kernel tells a filter the caller's architecture as an `AUDIT_ARCH_*`
//! value in `seccomp_data.arch`. x86_64 and x32 share `AUDIT_ARCH_X86_64`:
//! an x32 call has bit 30 (`__X32_SYSCALL_BIT`) set in its number.

use oci_spec::runtime::Arch;

use super::SeccompError;

/// One syscall ABI with a table in [`super::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Abi {
    X86_64,
    X86,
    X32,
    Aarch64,
    Arm,
    Riscv64,
}

/// `__X32_SYSCALL_BIT`.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

impl Abi {
    /// Every ABI skiff has a syscall table for.
    pub(super) const ALL: [Abi; 6] = [
        Abi::X86_64,
        Abi::X86,
        Abi::X32,
        Abi::Aarch64,
        Abi::Arm,
        Abi::Riscv64,
    ];

    /// The OCI name of this ABI.
    pub(super) fn oci(self) -> Arch {
        match self {
            Abi::X86_64 => Arch::ScmpArchX86_64,
            Abi::X86 => Arch::ScmpArchX86,
            Abi::X32 => Arch::ScmpArchX32,
            Abi::Aarch64 => Arch::ScmpArchAarch64,
            Abi::Arm => Arch::ScmpArchArm,
            Abi::Riscv64 => Arch::ScmpArchRiscv64,
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel reports for this ABI.
    pub(super) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => 0xc000_003e,
            Abi::X86 => 0x4000_0003,
            Abi::Aarch64 => 0xc000_00b7,
            Abi::Arm => 0x4000_0028,
            Abi::Riscv64 => 0xc000_00f3,
        }
    }

    /// Whether syscall arguments are 64 bits wide. On the others only the
    /// low 32 bits of an argument are compared, as libseccomp does (x32
    /// passes pointers and longs as 32-bit values).
    pub(super) fn wide_args(self) -> bool {
        matches!(self, Abi::X86_64 | Abi::Aarch64 | Abi::Riscv64)
    }

    /// The ABI the running binary was built for.
    pub(super) fn native() -> Abi {
        if cfg!(target_arch = "aarch64") {
            Abi::Aarch64
        } else if cfg!(target_arch = "arm") {
            Abi::Arm
        } else if cfg!(target_arch = "riscv64") {
            Abi::Riscv64
        } else if cfg!(target_arch = "x86") {
            Abi::X86
        } else if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
            Abi::X32
        } else {
            Abi::X86_64
        }
    }

    /// The ABI an OCI architecture names (`SCMP_ARCH_NATIVE` is `native`).
    pub(super) fn from_oci(arch: Arch, native: Abi) -> Result<Abi, SeccompError> {
        if arch == Arch::ScmpArchNative {
            return Ok(native);
        }
        Abi::ALL
            .into_iter()
            .find(|abi| abi.oci() == arch)
            .ok_or(SeccompError::UnsupportedArch(arch))
    }
}
