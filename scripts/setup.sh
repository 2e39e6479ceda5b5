#!/usr/bin/env bash
# Installs what skiff's demo, tests and benches need on a fresh Debian machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
# apparmor: its apparmor_parser loads the test profile of the AppArmor conformance tests,
# which run in the cgroup v2 lane's guest kernel (this host's may not run AppArmor).
# secilc: compiles the SELinux policy the lane's SELinux boot loads (--lsm selinux).
for pkg in busybox-static runc crun libseccomp-dev seccomp golang-github-containers-common podman containerd uidmap apparmor secilc; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo is required (rustup)" >&2; exit 1; }
