//! The default config.json written by `skiff spec`, as runc's.

use oci_spec::runtime::Spec;

/// A spec like `runc spec` writes: `sh` on a terminal in a busybox-style
/// rootfs at `rootfs`, with runc's default mounts, masked and readonly paths
/// and capabilities.
pub fn default_spec() -> Spec {
    Spec::default()
}
