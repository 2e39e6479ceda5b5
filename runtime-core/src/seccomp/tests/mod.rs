//! The proof of the compiler: differential tests against libseccomp, the
//! containers-common default profile, and filters loaded into the kernel.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod differential;
mod interp;
mod kernel;
mod profiles;
