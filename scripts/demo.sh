#!/usr/bin/env bash
# Builds skiff and runs a busybox bundle that prints its pid, hostname and mounts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
skiff=$(scripts/build-release.sh)
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
root="$work/state"
trap '"$skiff" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$work/bundle/rootfs/bin/$applet"
done
cd "$work/bundle"
"$skiff" spec
# terminal off and a command that shows what the container sees
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo pid: $$; echo hostname: $(hostname); echo mounts:; cat /proc/self/mounts"]
json.dump(c, open("config.json", "w"), indent=2)
PY
"$skiff" --root "$root" run demo
