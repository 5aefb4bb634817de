#!/bin/sh
# SPDX-License-Identifier: MIT
# The basic, threaded, fork and at-limit tests again with uzswapd on zstd
# level 3.
set -e
: "${top_builddir:=.}"
export IT_CODEC=zstd:3
for t in it_basic it_threads it_fork; do
	"$top_builddir/tests/it/$t" || exit $?
done
# root and cgroup v1 only: its skip is not the others'
rc=0
"$top_builddir/tests/it/it_atlimit" || rc=$?
case $rc in
0) echo "zstd:3: basic, threads, fork and an eviction at the limit pass" ;;
77) echo "zstd:3: basic, threads and fork pass (at the limit: skipped)" ;;
*) exit $rc ;;
esac
