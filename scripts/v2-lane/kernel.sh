#!/usr/bin/env bash
# Usage: kernel.sh
# Makes sure Debian's current linux-image-amd64 kernel is unpacked in the lane's cache and
# prints its directory. The .deb is fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`: nothing is installed on the host. The directory holds:
#   vmlinuz   the compressed bzImage of the package
#   vmlinux   the uncompressed ELF (boots through PVH, skipping the decompression under TCG)
#   version   the kernel release (uname -r in the guest)
#   modules/  lib/modules/<release> of the package, with modules.dep made by depmod
# Cache: $SKIFF_V2_LANE_CACHE, default /var/cache/skiff-v2-lane.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SKIFF_V2_LANE_CACHE:-/var/cache/skiff-v2-lane}
mkdir -p "$cache"
export DEBIAN_FRONTEND=noninteractive

resolve() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
# apt-cache takes a second or two: its answer is kept until the package lists change.
if [ -s "$cache/resolved" ] &&
    [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$cache/resolved")" ]; then
    read -r pkg ver <"$cache/resolved"
else
    pkg=$(resolve || true)
    if [ -z "$pkg" ]; then
        apt-get update -qq >&2
        pkg=$(resolve || true)
    fi
    ver=""
fi
if [ -z "$pkg" ]; then
    # Offline and no package lists: use whatever kernel the cache already has.
    last=$(cat "$cache/current" 2>/dev/null || true)
    [ -n "$last" ] && [ -f "$cache/$last/vmlinux" ] || {
        echo "kernel.sh: cannot resolve linux-image-amd64 and no cached kernel" >&2
        exit 1
    }
    echo "$cache/$last"
    exit 0
fi
[ -n "$ver" ] || ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
echo "$pkg $ver" >"$cache/resolved"
key="$pkg-$ver"
dir="$cache/$key"
if [ ! -f "$dir/vmlinux" ] || [ ! -f "$dir/modules/modules.dep" ]; then
    echo "v2-lane: fetching $pkg $ver (unpacked into $dir, not installed)" >&2
    work=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # apt's download sandbox (user _apt) must be able to write there.
    chown _apt "$work" 2>/dev/null || true
    (cd "$work" && apt-get download -q=2 "$pkg=$ver" >&2) ||
        { apt-get update -qq >&2 && (cd "$work" && apt-get download -q=2 "$pkg" >&2); }
    dpkg-deb -x "$work"/*.deb "$work/x"
    rel=$(ls "$work/x/lib/modules")
    # modules.dep is made at install time: make it here (depmod, of kmod).
    depmod -b "$work/x" "$rel"
    mkdir -p "$work/out"
    mv "$work/x/boot/vmlinuz-$rel" "$work/out/vmlinuz"
    mv "$work/x/lib/modules/$rel" "$work/out/modules"
    echo "$rel" >"$work/out/version"
    "$here/extract-vmlinux.sh" "$work/out/vmlinuz" "$work/out/vmlinux"
    rm -rf "$dir"
    mv "$work/out" "$dir"
fi
echo "$key" >"$cache/current"
echo "$dir"
