#!/bin/sh
# SPDX-License-Identifier: MIT
# A job that fills 2 GiB at GB/s in a 1 GiB memory cgroup (v1), six times
# in a row under one daemon with its defaults, is never OOM-killed.  A
# step taken below the cgroup's threshold held nothing, and the job
# reached its limit before that step ended: 5 of 12 such runs were
# killed (tests/bench/cglimit_fill.sh, 2026-12-05).  Root and the cgroup
# v1 memory controller; about 3 GB of free memory.
set -u
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a memory cgroup)"; exit 77; }
[ -w /sys/fs/cgroup/memory/cgroup.procs ] ||
	{ echo "SKIP: no cgroup v1 memory controller"; exit 77; }
# the job is held in the cgroup v1 freezer: without it (or inside
# someone else's freezer cgroup, a container's) nothing holds it
[ -w /sys/fs/cgroup/freezer/cgroup.procs ] ||
	{ echo "SKIP: no cgroup v1 freezer (limit-hold needs it)"; exit 77; }
case $(awk -F: '$2 == "freezer" { print $3 }' /proc/self/cgroup) in
/) ;;
*) echo "SKIP: this shell is in a freezer cgroup of someone else's"; exit 77 ;;
esac
free=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$free" -ge 3072 ] || { echo "SKIP: $free MB available, 3072 needed"; exit 77; }
out=$(top_builddir="$top_builddir" bash "$top_srcdir/tests/bench/cglimit_fill.sh" \
	--rounds 6 --uzswap-only 2>&1)
rc=$?
echo "$out" | tail -n 4
[ $rc = 77 ] && { echo "SKIP: cglimit_fill.sh skipped"; exit 77; }
[ $rc = 0 ] || { echo "FAIL: cglimit_fill.sh exited $rc"; echo "$out"; exit 1; }
line=$(echo "$out" | grep '^| uzswap |')
case $line in
"| uzswap | 0 of 6 |"*) echo "not one of 6 runs was OOM-killed" ;;
*) echo "FAIL: OOM-killed: $line"; exit 1 ;;
esac
