#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what uzswap needs on Debian 12 (as root) and build it in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential autoconf automake libtool pkg-config liblz4-dev
      libzstd-dev liburing-dev libcgroup-dev libxxhash-dev python3 coreutils
      util-linux procps"

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
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	echo "== configure"
	./configure --quiet --prefix=/usr/local
fi
echo "== make"
make -j"$(nproc)" >/dev/null
