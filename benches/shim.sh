#!/bin/sh
# `ctr run --rm ROOTFS /bin/true` through three containerd runtime v2 shims on
# one private containerd (own root, state and socket in a temporary
# directory, CRI plugin disabled), interleaved a,b,c,a,b,c...:
#   skiff  skiff's shim (io.containerd.skiff.v2)
#   runc   the runc-v2 shim with /usr/sbin/runc
#   crun   the runc-v2 shim with /usr/bin/crun
#   cli    no containerd: `skiff run` of the same rootfs, the whole lifecycle
#          by the CLI, an upper bound on the work skiff's shim does in-process
# Prints the median and p90 wall time of each, the ratios of skiff's to the
# others, containerd's own share (skiff's shim path less the cli run:
# containerd, ctr and the start of a shim process, which a shim whose
# container work took no time would still cost), and each shim's RSS (VmRSS, VmHWM, smaps_rollup Pss) sampled while
# it runs a `sleep` container, with its anonymous memory (smaps_rollup
# Anonymous: what each further shim adds; the rest is the binary's pages,
# shared with every other shim of the same binary). Everything runs in a private mount namespace
# with the hybrid cgroup2 mount (/sys/fs/cgroup/unified) unmounted there only
# (crun refuses the hybrid host otherwise); the host's mounts are untouched.
#   benches/shim.sh [-n ITERATIONS]       (default 30; root)
# SKIFF_SHIM_BIN: the shim (default: the release build of
# scripts/build-release.sh); SKIFF_BIN: the skiff CLI (default: beside it); RUNC_BIN, CRUN_BIN: the runtimes;
# SKIFF_SHIM_BENCH_SMAPS=1 also lists each shim's largest mappings by Rss.
set -eu

n=30
while [ $# -gt 0 ]; do
    case $1 in
    -n) n=$2; shift 2 ;;
    *) echo "shim.sh: unknown argument $1 (usage: shim.sh [-n N])" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
: "${SKIFF_SHIM_BIN:=${CARGO_TARGET_DIR:-$root/target}/release/containerd-shim-skiff-v2}"
: "${SKIFF_BIN:=$(dirname "$SKIFF_SHIM_BIN")/skiff}"
: "${RUNC_BIN:=/usr/sbin/runc}"
: "${CRUN_BIN:=/usr/bin/crun}"

if [ "$(id -u)" -ne 0 ]; then
    echo "shim.sh: needs root (mount namespace, containerd)" >&2
    exit 1
fi
for tool in containerd ctr containerd-shim-runc-v2 busybox unshare; do
    command -v $tool >/dev/null 2>&1 || { echo "shim.sh: $tool not found (apt-get install -y containerd busybox-static)" >&2; exit 1; }
done
[ -x "$SKIFF_SHIM_BIN" ] || { echo "shim.sh: no shim at $SKIFF_SHIM_BIN (scripts/build-release.sh)" >&2; exit 1; }
[ -x "$SKIFF_BIN" ] || { echo "shim.sh: no skiff at $SKIFF_BIN (scripts/build-release.sh)" >&2; exit 1; }

if [ -z "${SKIFF_SHIM_BENCH_INNER:-}" ]; then
    SKIFF_SHIM_BENCH_INNER=1 SKIFF_SHIM_BIN=$SKIFF_SHIM_BIN SKIFF_BIN=$SKIFF_BIN exec unshare -m --propagation private "$0" -n "$n"
fi
while mountpoint -q /sys/fs/cgroup/unified; do umount -l /sys/fs/cgroup/unified; done

tmp=$(mktemp -d /tmp/skiff-shim-bench-XXXXXX)
daemon=""
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/bin" "$tmp/rootfs/bin" "$tmp/fifo"
ln -s "$SKIFF_SHIM_BIN" "$tmp/bin/containerd-shim-skiff-v2"
cp "$(command -v busybox)" "$tmp/rootfs/bin/busybox"
for b in true sleep sh; do ln -s busybox "$tmp/rootfs/bin/$b"; done
# The cli variant's bundle: the default spec running /bin/true on that rootfs.
mkdir -p "$tmp/bundle"
(cd "$tmp/bundle" && "$SKIFF_BIN" spec)
sed -i -e 's|"terminal": true|"terminal": false|' -e 's|"sh"|"/bin/true"|' \
    -e "s|\"path\": \"rootfs\"|\"path\": \"$tmp/rootfs\"|" "$tmp/bundle/config.json"
cat >"$tmp/config.toml" <<EOT
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$tmp/c.sock"
[ttrpc]
  address = "$tmp/c.sock.ttrpc"
EOT
PATH="$tmp/bin:$PATH" SKIFF_SHIM_ROOT="$tmp/skiff" containerd --config "$tmp/config.toml" \
    </dev/null >"$tmp/containerd.log" 2>&1 &
daemon=$!

ctr_() { ctr --address "$tmp/c.sock" -n bench "$@"; }
i=0
until ctr_ version >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "shim.sh: containerd did not start:" >&2; cat "$tmp/containerd.log" >&2; exit 1; }
    sleep 0.05
done

# Runtime options of each variant.
opts() {
    case $1 in
    skiff) echo "--runtime io.containerd.skiff.v2" ;;
    runc) echo "--runtime io.containerd.runc.v2 --runc-binary $RUNC_BIN" ;;
    crun) echo "--runtime io.containerd.runc.v2 --runc-binary $CRUN_BIN" ;;
    esac
}

now_us() { echo $(($(date +%s%N) / 1000)); }

# One `ctr run --rm` (or `skiff run` for cli); appends its wall time (µs)
# to $tmp/$1.times.
run_once() {
    if [ "$1" = cli ]; then
        start=$(now_us)
        "$SKIFF_BIN" --root "$tmp/cli-root" run --bundle "$tmp/bundle" "bench-cli-$2" \
            >"$tmp/out" 2>&1 </dev/null || { echo "shim.sh: skiff run $2 failed:" >&2; cat "$tmp/out" >&2; exit 1; }
        end=$(now_us)
        echo $((end - start)) >>"$tmp/$1.times"
        return
    fi
    # shellcheck disable=SC2046 # the options are words
    start=$(now_us)
    ctr_ run --fifo-dir "$tmp/fifo" --rm $(opts "$1") --rootfs "$tmp/rootfs" "bench-$1-$2" /bin/true \
        >"$tmp/out" 2>&1 </dev/null || { echo "shim.sh: $1 run $2 failed:" >&2; cat "$tmp/out" >&2; exit 1; }
    end=$(now_us)
    echo $((end - start)) >>"$tmp/$1.times"
}

# RSS of the shim while it runs a sleep container: the container's init's
# parent is its shim (a child subreaper) for both shims.
rss() {
    id="bench-rss-$1"
    # shellcheck disable=SC2046
    ctr_ run --fifo-dir "$tmp/fifo" -d $(opts "$1") --rootfs "$tmp/rootfs" "$id" /bin/sleep 60 \
        >/dev/null 2>&1 </dev/null
    pid=$(ctr_ task ls | awk -v id="$id" '$1 == id { print $2 }')
    shim=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")
    vmrss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$shim/status")
    vmhwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$shim/status")
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$shim/smaps_rollup")
    anon=$(awk '/^Anonymous:/ { print $2 }' "/proc/$shim/smaps_rollup")
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$shim/status")
    printf '%-6s %-28s VmRSS %6s kB  VmHWM %6s kB  Pss %6s kB  Anon %6s kB  threads %s\n' \
        "$1" "$(cat /proc/$shim/comm)" "$vmrss" "$vmhwm" "$pss" "$anon" "$threads"
    # SKIFF_SHIM_BENCH_SMAPS=1: where the pages are (largest mappings by Rss).
    if [ "${SKIFF_SHIM_BENCH_SMAPS:-0}" = 1 ]; then
        awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) " " $2 }
             /^Rss:/ { if ($2 > 0) printf "         %6d kB  %s\n", $2, name }' "/proc/$shim/smaps" |
            sort -rn | head -12
    fi
    ctr_ task kill -s SIGKILL "$id" >/dev/null 2>&1
    ctr_ task delete "$id" >/dev/null 2>&1 || { sleep 0.2; ctr_ task delete "$id" >/dev/null 2>&1; } || true
    ctr_ containers rm "$id" >/dev/null 2>&1 || true
}

variants="skiff runc crun"
for v in $variants cli; do run_once "$v" warmup; : >"$tmp/$v.times"; done
k=0
while [ $k -lt "$n" ]; do
    for v in $variants cli; do run_once "$v" "$k"; done
    k=$((k + 1))
done

# Median and p90 (nearest rank) in ms.
stat_() {
    sort -n "$tmp/$1.times" | awk '{ v[NR] = $1 } END {
        m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.9 + 0.999)];
        printf "%.2f %.2f\n", m / 1000, p / 1000 }'
}
echo "ctr run --rm /bin/true, $n interleaved runs each (private containerd, cgroup2 unmounted)"
printf '%-6s %10s %10s %10s %10s\n' shim median_ms p90_ms x_runc x_crun
read -r sm sp <<EOT
$(stat_ skiff)
EOT
read -r rm_ rp <<EOT
$(stat_ runc)
EOT
read -r cm cp <<EOT
$(stat_ crun)
EOT
for v in skiff runc crun; do
    case $v in skiff) m=$sm p=$sp ;; runc) m=$rm_ p=$rp ;; crun) m=$cm p=$cp ;; esac
    awk -v v=$v -v m="$m" -v p="$p" -v r="$rm_" -v c="$cm" \
        'BEGIN { printf "%-6s %10.2f %10.2f %10.2f %10.2f\n", v, m, p, m / r, m / c }'
done
read -r lm lp <<EOT
$(stat_ cli)
EOT
awk -v m="$lm" -v p="$lp" -v s="$sm" -v r="$rm_" 'BEGIN {
    printf "%-6s %10.2f %10.2f   (skiff run, no containerd)\n", "cli", m, p
    printf "containerd share: %.2f ms (skiff shim - cli: containerd, ctr and starting a shim process);\n", s - m
    printf "  a shim whose container work took no time would still be at %.2fx runc\n", (s - m) / r }'
echo "shim RSS while running a sleep container:"
for v in $variants; do rss "$v"; done
