#!/bin/bash
# SPDX-License-Identifier: MIT
# How often an idle process's agent wakes, and the CPU it uses (issue 13:
# no more than once a minute, at most 0.1 % of a core).  A python3 writes
# 128 MB (a byte per page) and sleeps under LD_PRELOAD=libuzswap.so with a
# private uzswapd on its built-in defaults (the automatic loop on); it is
# evicted whole (uzswapctl evict PID --all); then, every 30 s for MINUTES
# minutes, the script prints how many times the agent's threads went to
# sleep (voluntary_ctxt_switches of the threads named uzswap-agent) and
# the CPU ticks they used (utime + stime, /proc/PID/task/TID/stat).
# The same process without the agent has no such thread: 0 and 0.
#
#   bash tests/bench/idle_wakes.sh [MINUTES]     (default 4)
#
# From the build tree; no root needed.  A report, not a test (it_idle is
# the test).
set -u
cd "$(dirname "$0")/../.." || exit 2
minutes=${1:-4}
case $minutes in '' | *[!0-9]* | 0) echo "idle_wakes: MINUTES must be a whole number" >&2; exit 2 ;; esac
[ -x ./uzswapd ] && [ -x ./uzswapctl ] && [ -f .libs/libuzswap.so ] || {
	echo "idle_wakes: build first (./uzswapd, ./uzswapctl, .libs/libuzswap.so)" >&2
	exit 2
}
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
[ -n "$PYTHON" ] || { echo "idle_wakes: needs python3" >&2; exit 2; }
dir=$(mktemp -d /tmp/uzswap-idle.XXXXXX) || exit 2
daemon= client=
cleanup() {
	[ -n "$client" ] && kill "$client" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export UZSWAP_SOCKET=$dir/sock
: >"$dir/empty.conf"
./uzswapd -s "$UZSWAP_SOCKET" -C "$dir/empty.conf" >"$dir/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 50); do [ -S "$UZSWAP_SOCKET" ] && break; sleep 0.1; done
[ -S "$UZSWAP_SOCKET" ] || { echo "idle_wakes: uzswapd did not start:" >&2; cat "$dir/daemon.log" >&2; exit 1; }

LD_PRELOAD=$PWD/.libs/libuzswap.so "$PYTHON" -c '
import sys, time
b = bytearray(128 << 20)
for i in range(0, len(b), 4096):
    b[i] = (i >> 12) & 255
print("ready", flush=True)
time.sleep(100000)' >"$dir/client.out" &
client=$!
for _ in $(seq 100); do grep -q ready "$dir/client.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$dir/client.out" || { echo "idle_wakes: python3 did not start" >&2; exit 1; }
./uzswapctl evict "$client" --all || { echo "idle_wakes: the eviction failed" >&2; exit 1; }

# the agent's threads' sleeps and CPU ticks, summed
agent_counts() {
	local t comm v=0 c=0
	for t in /proc/"$client"/task/*; do
		read -r comm <"$t/comm" 2>/dev/null || continue
		[ "$comm" = uzswap-agent ] || continue
		v=$((v + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")))
		c=$((c + $(awk '{ print $14 + $15 }' "$t/stat")))
	done
	echo "$v $c"
}

echo "$(date -u '+%F %T UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg); $(getconf CLK_TCK) ticks a second"
read -r w0 c0 < <(agent_counts)
first_w=$w0 first_c=$c0
spans=$((minutes * 2))
for i in $(seq "$spans"); do
	sleep 30
	read -r w c < <(agent_counts)
	printf '%4d s after the eviction: %d wake-ups, %d CPU ticks in the last 30 s\n' \
		$((i * 30)) $((w - w0)) $((c - c0))
	w0=$w c0=$c
done
echo "in all: $((w0 - first_w)) wake-ups and $((c0 - first_c)) CPU ticks in $minutes minutes;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
