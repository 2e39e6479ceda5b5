#!/usr/bin/env bash
# The cgroup v2 lane: runs one command inside a Debian kernel booted under qemu (TCG) with
# cgroup_no_v1=all and every cgroup v2 controller enabled, and exits with its status.
#
# Usage: scripts/v2-lane/run.sh [OPTIONS] TESTBIN [ARGS...]
#   TESTBIN        a file (copied into the guest at its same absolute path, with the shared
#                  libraries ldd names) or a command of the guest's busybox (sh, cat, ...)
#   --file SRC[:DEST]  also copy SRC (file or directory) to DEST in the guest (default: the
#                  same absolute path); ELF files get their shared libraries too. Repeatable.
#   --env K=V      set K=V for the command. Repeatable.
#   --cwd DIR      the command's working directory (default: the current one, created empty)
#   --module NAME  also load kernel module NAME (and its dependencies). Repeatable.
#                  Loaded by default: overlay loop veth.
#   --timeout S    kill the guest after S seconds and fail (default 600)
#   --mem SIZE     guest memory (default 2G);  --smp N  guest CPUs (default 2)
#   --no-strip     keep debug info in copied ELF files (they are stripped by default: the
#                  initramfs is much smaller and boots faster)
#   --keep         keep the work dir (initramfs, console log) and print where it is
#   --append ARGS  extra kernel command line
#   --lsm selinux  boot with SELinux as the major LSM instead of AppArmor (security=selinux)
#                  and load an SELinux policy at boot, enforcing: --selinux-policy FILE.cil
#                  (default: conformance/fixtures/selinux/minimal.cil), compiled on the host
#                  with secilc. --lsm apparmor is the default (Debian's kernel's own choice).
# Environment: SKIFF_V2_LANE_CACHE (kernel cache, default /var/cache/skiff-v2-lane),
#   SKIFF_V2_LANE_SETUP=0 to skip the apt-get install check.
# The guest: busybox at /bin/busybox with applet links in /bin (/sbin, /usr/bin and /usr/sbin
# link to it), the host's dash as /bin/sh and bash as /bin/bash, root on a tmpfs (pivot_root
# works), /tmp, /dev/shm, cgroup2 at /sys/fs/cgroup with every controller in subtree_control.
# The console log is printed as it comes; the exit status is the command's, 124 on timeout,
# 125 when the guest died without reporting one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s.%N)

files=() envs=() modules=(overlay loop veth) timeout=600 mem=2G smp=2 strip=1 keep=0 append=""
lsm=apparmor selinux_policy=$here/../../conformance/fixtures/selinux/minimal.cil
cwd=$PWD
while [ $# -gt 0 ]; do
    case "$1" in
    --file) files+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --module) modules+=("$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --no-strip) strip=0; shift ;;
    --keep) keep=1; shift ;;
    --append) append=$2; shift 2 ;;
    --lsm) lsm=$2; shift 2 ;;
    --selinux-policy) selinux_policy=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "v2-lane: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
case "$lsm" in
apparmor) ;;
selinux) append="security=selinux $append" ;;
*) echo "v2-lane: --lsm $lsm: apparmor or selinux" >&2; exit 2 ;;
esac
[ $# -ge 1 ] || { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

log() { echo "v2-lane: $*" >&2; }
elapsed() { awk "BEGIN { printf \"%.1f\", $1 - $2 }"; }

# --- host tools -------------------------------------------------------------------------
if [ "${SKIFF_V2_LANE_SETUP:-1}" != 0 ]; then
    need=()
    pkgs=(qemu-system-x86 busybox-static cpio xz-utils kmod binutils)
    [ "$lsm" = selinux ] && pkgs+=(secilc)
    for pkg in "${pkgs[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi
kdir=$("$here/kernel.sh")
krel=$(cat "$kdir/version")

# --- initramfs --------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/skiff-v2-lane.XXXXXX")
if [ "$keep" = 1 ]; then
    log "work dir: $work"
else
    trap 'rm -rf "$work"' EXIT
fi
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,root,etc,lane/modules,newroot,mnt,var}
chmod 1777 "$root/tmp"
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # the other applet links are made in the guest
cp "$here/guest-init" "$root/init"
cp "$here/guest-init2" "$root/lane/init2"
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost skiff-v2-lane\n::1 localhost\n' >"$root/etc/hosts"

is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# copy_in SRC DEST: SRC into the guest at DEST, with the shared libraries of ELF files.
copy_in() {
    local src=$1 dest=$2 f lib
    mkdir -p "$root$(dirname "$dest")"
    cp -aL "$src" "$root$dest"
    while IFS= read -r -d '' f; do
        is_elf "$f" || continue
        if [ "$strip" = 1 ]; then strip --strip-debug "$f" 2>/dev/null || true; fi
        # ldd lines: "libx.so => /path (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)".
        for lib in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            [ -e "$root$lib" ] && continue
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done < <(find "$root$dest" -type f -print0)
}

abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# /bin/sh as on a Debian host: dash (busybox's sh would pick its applet from argv[0]), and bash.
if [ -x /bin/dash ]; then rm "$root/bin/sh"; copy_in /bin/dash /bin/sh; fi
[ -x /bin/bash ] && copy_in /bin/bash /bin/bash

cmd=("$@")
if [ -f "$1" ]; then
    cmd[0]=$(abs "$1")
    copy_in "$1" "${cmd[0]}"
fi
for spec in ${files[@]+"${files[@]}"}; do
    src=${spec%%:*}
    if [ "$src" = "$spec" ]; then dest=$(abs "$src"); else dest=${spec#*:}; fi
    [ -e "$src" ] || { log "--file $src: no such file"; exit 2; }
    copy_in "$src" "$dest"
done

# The SELinux policy, which guest-init2 loads (and enforces) before the command runs.
if [ "$lsm" = selinux ]; then
    [ -f "$selinux_policy" ] || { log "--selinux-policy $selinux_policy: no such file"; exit 2; }
    secilc -o "$root/lane/selinux.policy" -f /dev/null "$selinux_policy" >&2 ||
        { log "secilc $selinux_policy failed"; exit 2; }
fi

# Kernel modules and their dependencies (modules.dep), in load order.
declare -A seen=()
mods=()
add_module() {
    local name=${1//-/_} line path deps d
    line=$(awk -v n="$name" -F: '{ b = $1; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); gsub(/-/, "_", b)
        if (b == n) { print; exit } }' "$kdir/modules/modules.dep")
    if [ -z "$line" ]; then
        # built into the kernel, or unknown
        grep -q "/${1}.ko" "$kdir/modules/modules.builtin" 2>/dev/null || log "module $1: not found"
        return 0
    fi
    path=${line%%:*} deps=${line#*:}
    [ -n "${seen[$path]:-}" ] && return 0
    seen[$path]=1
    for d in $deps; do
        d=${d##*/}
        add_module "${d%%.ko*}"
    done
    cp "$kdir/modules/$path" "$root/lane/modules/"
    mods+=("${path##*/}")
}
for m in "${modules[@]}"; do add_module "$m"; done
printf '%s\n' ${mods[@]+"${mods[@]}"} >"$root/lane/modules.list"

# The command, its environment and cwd, quoted for the guest's sh.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
nonce="SKIFF-V2-LANE-EXIT-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$nonce" >"$root/lane/nonce"
{
    for kv in ${envs[@]+"${envs[@]}"}; do printf 'export %s\n' "$(q "$kv")"; done
    printf 'mkdir -p %s && cd %s || exit 125\n' "$(q "$cwd")" "$(q "$cwd")"
    printf 'exec'
    for a in "${cmd[@]}"; do printf ' %s' "$(q "$a")"; done
    printf '\n'
} >"$root/lane/run"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs.cpio"
t1=$(date +%s.%N)
log "kernel $krel, initramfs $(du -m "$work/initramfs.cpio" | cut -f1) MiB, prepared in $(elapsed "$t1" "$t0")s"

# --- boot -------------------------------------------------------------------------------
# TCG only (KVM does not work here). The uncompressed vmlinux boots through PVH, skipping
# the bzImage's decompression; qboot is a faster firmware than SeaBIOS.
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
set +e
timeout -k 5 "$timeout" qemu-system-x86_64 \
    -M q35 ${bios[@]+"${bios[@]}"} -accel tcg -cpu max -m "$mem" -smp "$smp" \
    -nodefaults -nic none -no-reboot -nographic -serial stdio \
    -kernel "$kdir/vmlinux" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 cgroup_no_v1=all quiet panic=-1 rdinit=/init mitigations=off $append" \
    </dev/null 2>&1 | tr -d '\r' | tee "$work/console.log"
qstatus=${PIPESTATUS[0]}
set -e
t2=$(date +%s.%N)
status=$(grep -a -o "$nonce=[0-9]*" "$work/console.log" | tail -n 1 | cut -d= -f2 || true)
if [ "$qstatus" = 124 ] || [ "$qstatus" = 137 ]; then
    log "timed out after ${timeout}s (total $(elapsed "$t2" "$t0")s)"
    exit 124
fi
if [ -z "$status" ]; then
    log "the guest stopped without reporting a status (qemu exit $qstatus); see the log above"
    exit 125
fi
log "exit status $status; boot+run $(elapsed "$t2" "$t1")s, total $(elapsed "$t2" "$t0")s"
exit "$status"
