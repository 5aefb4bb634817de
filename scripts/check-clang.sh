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
mkdir "$dir/src"

# A copy of the sources without this tree's build products (an in-place
# configured tree cannot also be built out of tree): in a git checkout,
# the files git knows of and the new ones it does not ignore; elsewhere (a
# make dist tarball), what make distdir copies when the tree is configured,
# else the whole tree less objects, libraries and configure's results.
if command -v git >/dev/null && [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
	how="the files git knows of"
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 cp --parents -t "$dir/src" 2>/dev/null)
elif [ -f "$src/Makefile" ]; then
	how="no git checkout: make distdir"
	make -C "$src" -s distdir distdir="$dir/src" >"$log" 2>&1 ||
		{ tail -n 20 "$log"; echo "clang: make distdir failed"; exit 1; }
else
	how="no git checkout, not configured: the whole tree less build products"
	tar -C "$src" --exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude=.libs \
		--exclude=.deps --exclude=./config.status --exclude=./config.log \
		--exclude=./config.cache --exclude=./autom4te.cache --exclude=./Makefile \
		--exclude=./libtool -cf - . | tar -C "$dir/src" -xf -
fi
[ -f "$dir/src/configure.ac" ] || { echo "clang: could not copy the source tree ($how)"; exit 1; }
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
