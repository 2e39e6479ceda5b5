#!/bin/sh
# Guest-side check that the lane is what it says: a pure cgroup v2 machine with every
# controller available and enabled, a tmpfs root (pivot_root works), and the default modules.
# Run: scripts/v2-lane/run.sh scripts/v2-lane/check-v2.sh
fail=0 pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
t() { what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

t "cgroup2 mounted at /sys/fs/cgroup" grep -q "^cgroup2 /sys/fs/cgroup cgroup2 " /proc/mounts
t "no cgroup v1 hierarchy mounted" sh -c '! grep -q " cgroup " /proc/mounts'
t "cgroup_no_v1=all on the command line" grep -q cgroup_no_v1=all /proc/cmdline
t "no v1 controller usable (hierarchy ids 0)" sh -c '! awk "NR > 1 && \$2 != 0" /proc/cgroups | grep -q .'
for c in cpu cpuset io memory pids hugetlb rdma misc; do
    t "controller $c available" grep -qw "$c" /sys/fs/cgroup/cgroup.controllers
    t "controller $c enabled for children" grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control
done
t "a child cgroup gets memory.max and pids.max" sh -c '
    mkdir /sys/fs/cgroup/lane-check && echo $$ >/sys/fs/cgroup/lane-check/cgroup.procs &&
    echo 64M >/sys/fs/cgroup/lane-check/memory.max && echo 10 >/sys/fs/cgroup/lane-check/pids.max &&
    [ "$(cat /sys/fs/cgroup/lane-check/memory.max)" = 67108864 ]'
rmdir /sys/fs/cgroup/lane-check 2>/dev/null
t "root is a tmpfs" [ "$(stat -f -c %T /)" = tmpfs ]
t "pivot_root works (in a new mount namespace)" unshare -m sh -c '
    mkdir -p /tmp/pr && mount -t tmpfs tmpfs /tmp/pr && mkdir /tmp/pr/old &&
    pivot_root /tmp/pr /tmp/pr/old'
for m in overlay loop veth; do
    t "module $m loaded" grep -q "^$m " /proc/modules
done
t "overlay mounts" sh -c 'mkdir -p /tmp/o/l /tmp/o/u /tmp/o/w /tmp/o/m &&
    mount -t overlay overlay -o lowerdir=/tmp/o/l,upperdir=/tmp/o/u,workdir=/tmp/o/w /tmp/o/m'
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
