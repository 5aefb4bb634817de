#!/bin/bash
# SPDX-License-Identifier: MIT
# Build, start uzswapd on built-in defaults, run the demo, stop the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
make -j2 demo/uzdemo >/dev/null

if ./uzswapctl status >/dev/null 2>&1; then
	echo "uzswapd is already running; stop it first (systemctl stop uzswapd)" >&2
	exit 1
fi
log=$(mktemp /tmp/uzswapd-demo.XXXXXX.log)
./uzswapd -v >"$log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; echo "(uzswapd log: $log)"' EXIT
for _ in $(seq 50); do ./uzswapctl status >/dev/null 2>&1 && break; sleep 0.1; done
./uzswapctl status

UZSWAPCTL="$PWD/uzswapctl" UZSWAP_AGENT="$PWD/.libs/libuzswap.so" \
	./uzswapctl run -- ./demo/uzdemo "${DEMO_MB:-1024}"
