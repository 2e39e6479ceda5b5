//! Entry points for `skiff-bench` (feature `bench` only; not an API, and
//! the one place where libseccomp is linked outside the tests): the
//! containers-common default seccomp profile in OCI form, and the two
//! compilers to time on it, skiff's and libseccomp's.
//!
//! Both take the same [`LinuxSeccomp`] and build a program for this host
//! (the native architecture plus the profile's), as `skiff create` and runc
//! do; libseccomp's time includes `seccomp_export_bpf` into a memfd and
//! reading it back, skiff's the program in memory.

use std::path::Path;

pub use crate::seccomp::containers_common::{ProfileError, PATH as CONTAINERS_COMMON};
pub use crate::seccomp::libseccomp::LibseccompError;
pub use crate::seccomp::SeccompError;
pub use oci_spec::runtime::LinuxSeccomp;

/// The containers-common profile at `path` (normally
/// [`CONTAINERS_COMMON`]), converted to `linux.seccomp` as podman does on
/// an x86_64 host with its default capabilities.
pub fn containers_common(path: &Path) -> Result<LinuxSeccomp, ProfileError> {
    let value = crate::seccomp::containers_common::load(path)?;
    serde_json::from_value(value).map_err(|source| ProfileError::Json {
        path: path.to_owned(),
        source,
    })
}

/// Compile `profile` with skiff's compiler; the instruction count.
pub fn skiff_compile(profile: &LinuxSeccomp) -> Result<usize, SeccompError> {
    let program = crate::seccomp::compile(profile, oci_spec::runtime::Arch::ScmpArchNative)?;
    Ok(program.instructions().len())
}

/// Compile `profile` with the system libseccomp, as runc does; the
/// instruction count.
pub fn libseccomp_compile(profile: &LinuxSeccomp) -> Result<usize, LibseccompError> {
    crate::seccomp::libseccomp::compile(profile).map(|p| p.len())
}

/// The linked libseccomp's version (`2.5.4`).
pub fn libseccomp_version() -> Option<String> {
    crate::seccomp::libseccomp::version()
}
