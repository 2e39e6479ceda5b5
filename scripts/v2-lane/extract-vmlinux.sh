#!/usr/bin/env bash
# Usage: extract-vmlinux.sh BZIMAGE OUT
# Writes the uncompressed kernel ELF (vmlinux) inside an x86 bzImage to OUT, the way the
# kernel's scripts/extract-vmlinux does it: find each compression magic in the image, try to
# decompress from there, keep the first result that is an ELF file.
set -euo pipefail
img=$1 out=$2
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT

is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# try MAGIC(grep -P bytes) DECOMPRESSOR...
try() {
    local magic=$1 off
    shift
    command -v "$1" >/dev/null || return 1
    for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1); do
        tail -c "+$((off + 1))" "$img" | "$@" >"$tmp" 2>/dev/null || true
        if [ -s "$tmp" ] && is_elf "$tmp"; then
            mv "$tmp" "$out"
            return 0
        fi
    done
    return 1
}

try '\xfd\x37\x7a\x58\x5a\x00' xz -dc --single-stream ||
    try '\x28\xb5\x2f\xfd' zstd -dc ||
    try '\x1f\x8b\x08' gzip -dc ||
    try '\x02\x21\x4c\x18' lz4 -dc ||
    try '\x42\x5a\x68' bzip2 -dc ||
    try '\x5d\x00\x00\x00' xz -dc --format=lzma ||
    { echo "extract-vmlinux: no compressed ELF kernel found in $img" >&2; exit 1; }
