#!/usr/bin/env bash
# `cargo test` in the cgroup v2 lane: builds the test executables on the host and runs them all
# in one boot of the lane's guest, each from its package's directory, as cargo would.
#
# Usage: scripts/v2-lane/cargo-test.sh [LANE OPTIONS] [CARGO TEST OPTIONS] [-- TEST ARGS]
#   LANE OPTIONS (first, any order): --file SRC[:DEST], --env K=V, --module NAME, --timeout S,
#     --mem SIZE, --smp N, --no-strip, --keep, --append ARGS, --lsm LSM, --selinux-policy FILE,
#     as for run.sh; and
#     --bins: also build the workspace's binaries and copy them in; SKIFF_BIN is set to the
#       skiff binary (unless --env gives it), for the conformance tests.
#   CARGO TEST OPTIONS: -p skiff-core, --lib, --test NAME, --release, ...
#   TEST ARGS: given to every test executable, e.g. a name filter: -- cgroups
# Also copied in: the bins and examples cargo built, and the OUT_DIRs of the workspace's build scripts (paths compiled in with env!,
# such as the conformance tests' static probe). Exits non-zero if any executable failed.
# Example: scripts/v2-lane/cargo-test.sh -p skiff-core -- cgroups
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

lane=() bins=0
while [ $# -gt 0 ]; do
    case "$1" in
    --file | --env | --module | --timeout | --mem | --smp | --append | --lsm | --selinux-policy)
        lane+=("$1" "$2"); shift 2 ;;
    --no-strip | --keep) lane+=("$1"); shift ;;
    --bins) bins=1; shift ;;
    *) break ;;
    esac
done
cargo_args=() test_args=()
while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; test_args=("$@"); break; fi
    cargo_args+=("$1")
    shift
done

json=$(mktemp)
trap 'rm -f "$json" "${driver:-}"' EXIT
cargo test --no-run --message-format=json-render-diagnostics ${cargo_args[@]+"${cargo_args[@]}"} >"$json"
if [ "$bins" = 1 ]; then
    cargo build --workspace --bins --message-format=json-render-diagnostics >>"$json"
fi

# Lines: "test EXE DIR" for each test executable, "file PATH" for what else goes in.
plan=$(python3 - "$json" "$bins" <<'EOF'
import json, os, sys
tests, files = [], []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        if m["profile"]["test"]:
            tests.append((m["executable"], os.path.dirname(m["manifest_path"])))
        elif m["package_id"].startswith("path+file://"):
            files.append(m["executable"])  # the workspace's bins and examples
            if m["target"]["name"] == "skiff" and "bin" in m["target"]["kind"]:
                print("skiff", m["executable"])
    elif m.get("reason") == "build-script-executed" and m.get("out_dir") \
            and m["package_id"].startswith("path+file://"):
        files.append(m["out_dir"])
seen = set()
for exe, d in tests:
    if exe not in seen:
        seen.add(exe)
        print("test", exe, d)
for f in files:
    if f not in seen:
        seen.add(f)
        print("file", f)
EOF
)
[ -n "$plan" ] || { echo "v2-lane: cargo built no test executable" >&2; exit 1; }

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
driver=$(mktemp "${TMPDIR:-/tmp}/skiff-v2-lane-driver.XXXXXX")
{
    echo '#!/bin/sh'
    echo 'failed=0'
    while read -r kind path dir; do
        case "$kind" in
        test)
            lane+=(--file "$path")
            printf 'echo "     Running %s"\n' "$(q "$path")"
            printf 'mkdir -p %s; (cd %s && exec %s' "$(q "$dir")" "$(q "$dir")" "$(q "$path")"
            for a in ${test_args[@]+"${test_args[@]}"}; do printf ' %s' "$(q "$a")"; done
            printf ') || { st=$?; failed=$((failed + 1)); echo "v2-lane: %s failed ($st)"; }\n' "${path##*/}"
            ;;
        file) lane+=(--file "$path") ;;
        skiff) [ "$bins" = 1 ] && [[ " ${lane[*]} " != *" SKIFF_BIN="* ]] && lane+=(--env "SKIFF_BIN=$path") ;;
        esac
    done <<<"$plan"
    echo '[ "$failed" = 0 ] || { echo "v2-lane: $failed test executable(s) failed"; exit 1; }'
} >"$driver"
chmod +x "$driver"
# The driver itself goes in at its own path (run.sh copies the command's file).
"$here/run.sh" ${lane[@]+"${lane[@]}"} "$driver"
