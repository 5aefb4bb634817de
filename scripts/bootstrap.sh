#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what uzswap needs on Debian 12 (as root) and build it in place.
#   bootstrap.sh             what building and running uzswap needs (the demo)
#   bootstrap.sh --for-tests also what the test suite needs, and a build that
#                            fails on any compiler warning (as CI builds)
# Every program a script or test calls that Debian's minimal base system
# (mmdebstrap --variant=minbase) lacks is in one of these lists; `make
# check-fresh` proves it in such a root.
set -euo pipefail
cd "$(dirname "$0")/.."

# build: compiler, autotools, the libraries; run: ps/pgrep (procps),
# setpriv/mkswap/swapon (util-linux), python3 (demo checks, stats --json)
PKGS="build-essential autoconf automake libtool pkg-config liblz4-dev
      libzstd-dev liburing-dev libxxhash-dev python3 coreutils
      util-linux procps"
# tests: clang (the second compiler CI builds with), git (the clang build
# copies the tracked files), kmod (modprobe zram), gdb (real_gdb.sh),
# redis-server and sqlite3 (tests/real)
TEST_PKGS="clang git kmod gdb redis-server sqlite3"
configure_flags="--prefix=/usr/local"

if [ "${1:-}" = --for-tests ]; then
	PKGS="$PKGS $TEST_PKGS"
	configure_flags="$configure_flags --enable-werror"
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--for-tests]" >&2
	exit 2
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "== installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	echo "== autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
# configure again when configure changed or was run with other flags
old_flags=$(./config.status --config 2>/dev/null | tr -d "'") || old_flags=
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ "$old_flags" != "$configure_flags" ]; then
	# Other flags (plain, or --enable-werror): make does not rebuild what
	# was compiled with the old ones, so remove it first. Before configure,
	# so that a run interrupted in between cleans again the next time.
	if [ -f Makefile ] && [ "$old_flags" != "$configure_flags" ]; then
		echo "== make clean (built before with: ${old_flags:-unknown flags})"
		make clean >/dev/null 2>&1 ||
			find . \( -name '*.o' -o -name '*.lo' -o -name '*.la' \) -type f -delete
	fi
	echo "== configure $configure_flags"
	./configure --quiet $configure_flags
fi
echo "== make"
make -j"$(nproc)" >/dev/null
