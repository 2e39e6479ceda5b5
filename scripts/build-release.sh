#!/usr/bin/env bash
# Builds the release `skiff` binary and containerd's shim
# (`containerd-shim-skiff-v2`), both linked statically (static-pie): no shared
# libc or loader pages to map, so a smaller RSS per runtime call and per
# long-lived shim, and no NSS lookups (skiff reads /etc/passwd itself).
# crt-static goes to the binary crates only: given to every crate (RUSTFLAGS)
# it would break the proc-macros.
# Relative relocations are packed (RELR): a static-pie applies them at start,
# and the 300 KB of plain RELA entries it would read count in the peak RSS.
# Prints the skiff binary's path (first line, as before) and the shim's.
# SKIFF_BUILD_SHIM=0 builds skiff only.
set -euo pipefail
cd "$(dirname "$0")/.."
static=(-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs)
cargo rustc --release -q -p skiff-cli --bin skiff -- "${static[@]}"
out="${CARGO_TARGET_DIR:-$PWD/target}/release"
echo "$out/skiff"
if [ "${SKIFF_BUILD_SHIM:-1}" != 0 ]; then
    cargo rustc --release -q -p skiff-shim --bin containerd-shim-skiff-v2 -- "${static[@]}"
    echo "$out/containerd-shim-skiff-v2"
fi
