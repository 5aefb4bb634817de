#!/bin/bash
# SPDX-License-Identifier: MIT
# Build everything (programs, library, test programs) a second time with
# clang and -Werror, in a copy of the source tree: two compilers catch more
# than one (a missing #include is an error in newer ones). Nothing runs.
# Prints "clang: build passed" or the errors and "clang: build failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
src=$(pwd -P)
command -v clang >/dev/null || { echo "clang: not installed (apt-get install clang)"; exit 1; }
dir=$(mktemp -d /tmp/uzswap-clang.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/build.log
. "$src/scripts/check-lib.sh"
copy_sources "$src" "$dir/src" >"$log" 2>&1 ||
	{ tail -n 20 "$log"; echo "clang: could not copy the source tree ($how)"; exit 1; }
echo "clang: building a copy of the sources ($how)"
start=$SECONDS
if (cd "$dir/src" && autoreconf -fi && ./configure --quiet CC=clang --enable-werror &&
    make -j"$(nproc)" all && make -j"$(nproc)" check TESTS=) >"$log" 2>&1; then
	echo "clang: build passed ($((SECONDS - start)) s, $(clang --version | head -n 1))"
	exit 0
fi
grep -E 'error|warning' "$log" | head -n 40
tail -n 20 "$log"
echo "clang: build failed"
exit 1
