#!/usr/bin/env bash
# Sets up and runs every check: formatting, clippy, unit tests and the
# conformance tests on the real kernel (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo build --workspace --all-targets -q
cargo test --workspace
