#!/bin/sh
# SPDX-License-Identifier: MIT
# The basic, threaded and fork tests again with uzswapd on zstd level 3.
set -e
: "${top_builddir:=.}"
export IT_CODEC=zstd:3
for t in it_basic it_threads it_fork; do
	"$top_builddir/tests/it/$t" || exit $?
done
echo "zstd:3: basic, threads and fork pass"
