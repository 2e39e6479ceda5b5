//! The proof of the compiler: differential tests against libseccomp, the
//! containers-common default profile, and filters loaded into the kernel.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod differential;
mod interp;
mod kernel;
mod profiles;

/// The argument operators config-linux.md names, in the spec's order (the
/// features test checks skiff lists exactly these; the differential test
/// draws from them).
pub(crate) const SPEC_OPERATORS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
