#!/bin/sh
# Build skiff and skiff-bench in release mode, then compare skiff with runc
# and crun, and skiff's seccomp compiler with libseccomp on the
# containers-common default profile (the report's last section, always run:
# 200 rounds take seconds, nearly all of it libseccomp's). Extra arguments go to skiff-bench, e.g.:
#   benches/run.sh -n 100
#   benches/run.sh --json > bench.json
#   SKIFF_BENCH_ITERATIONS=20 benches/run.sh --runtimes runc,crun
#   benches/run.sh --seccomp-rounds 1000
#   benches/run.sh seccomp -n 1000     (the seccomp section alone)
#
# skiff-bench moves itself into a private mount namespace (and unmounts the
# hybrid cgroup2 mount there only), so it needs root. Set SKIFF_BENCH_NO_BUILD=1
# to use existing binaries, SKIFF_BENCH_NO_INSTALL=1 to never call apt-get.
# SKIFF_BENCH_SHIM=1 also runs benches/shim.sh (ctr run through skiff's shim,
# runc-v2+runc and runc-v2+crun on a private containerd, with each shim's RSS)
# after skiff-bench, with SKIFF_BENCH_ITERATIONS (default 30) runs each.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: skiff-bench needs root (mount namespace, containers)" >&2
    exit 1
fi

# The runtimes to compare against and the rootfs's busybox.
missing=""
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v crun >/dev/null 2>&1 || missing="$missing crun"
command -v busybox >/dev/null 2>&1 || missing="$missing busybox-static"
# The seccomp comparison: libseccomp to link against, and the profile.
[ -e /usr/include/seccomp.h ] || missing="$missing libseccomp-dev"
[ -f /usr/share/containers/seccomp.json ] || missing="$missing golang-github-containers-common"
if [ -n "$missing" ] && [ "${SKIFF_BENCH_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing$missing" >&2
    apt-get update -qq >&2
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
fi

if [ "${SKIFF_BENCH_NO_BUILD:-0}" != 1 ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p skiff-benches >&2
    # skiff itself; if it does not build, the bench reports it as missing.
    "$root/scripts/build-release.sh" >/dev/null ||
        echo "run.sh: warning: skiff did not build; benchmarking the others" >&2
fi

: "${SKIFF_BIN:=$target/release/skiff}"
export SKIFF_BIN
if [ "${SKIFF_BENCH_SHIM:-0}" = 1 ]; then
    "$target/release/skiff-bench" "$@"
    exec "$root/benches/shim.sh" -n "${SKIFF_BENCH_ITERATIONS:-30}"
fi
exec "$target/release/skiff-bench" "$@"
