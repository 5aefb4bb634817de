#!/bin/bash
# SPDX-License-Identifier: MIT
# Build everything (programs, library, test programs) a second time with
# clang and -Werror, in a copy of the source tree: two compilers catch more
# than one (a missing #include is an error in newer ones). Nothing runs.
# Prints "clang: build passed" or the errors and "clang: build failed".
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
command -v clang >/dev/null || { echo "clang: not installed (apt-get install clang)"; exit 1; }
dir=$(mktemp -d /tmp/uzswap-clang.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/build.log

# the files git knows of and the new ones it does not ignore: a copy
# without this tree's build products (an in-place configured tree cannot
# also be built out of tree)
git -C "$src" ls-files -z --cached --others --exclude-standard |
	(cd "$src" && xargs -0 cp --parents -t "$dir" 2>/dev/null)
[ -f "$dir/configure.ac" ] || { echo "clang: could not copy the source tree"; exit 1; }
start=$SECONDS
if (cd "$dir" && autoreconf -fi && ./configure --quiet CC=clang --enable-werror &&
    make -j"$(nproc)" all && make -j"$(nproc)" check TESTS=) >"$log" 2>&1; then
	echo "clang: build passed ($((SECONDS - start)) s, $(clang --version | head -n 1))"
	exit 0
fi
grep -E 'error|warning' "$log" | head -n 40
tail -n 20 "$log"
echo "clang: build failed"
exit 1
