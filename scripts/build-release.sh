#!/usr/bin/env bash
# Builds the release `skiff` binary, linked statically (static-pie): no shared
# libc or loader pages to map, so a smaller peak RSS per runtime call, and no
# NSS lookups (skiff reads /etc/passwd itself). crt-static goes to the binary
# crate only: given to every crate (RUSTFLAGS) it would break the proc-macros.
# Relative relocations are packed (RELR): a static-pie applies them at start,
# and the 300 KB of plain RELA entries it would read count in the peak RSS.
# Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo rustc --release -q -p skiff-cli --bin skiff -- \
    -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs
echo "${CARGO_TARGET_DIR:-$PWD/target}/release/skiff"
