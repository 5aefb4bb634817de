#!/bin/bash
# SPDX-License-Identifier: MIT
# What idle clients cost the daemon: N programs under the agent that only
# sleep, a private uzswapd on built-in defaults (the automatic loop on)
# and then with auto=off; prints the daemon's CPU time and wake-ups per
# second over SECONDS, and the clients' AUTO states.
#
#   bash tests/bench/idle_clients.sh [N] [SECONDS]      (default 150 20)
#
# From the build tree (./uzswapd, .libs/libuzswap.so); no root needed.
set -u
cd "$(dirname "$0")/../.." || exit 2
n=${1:-150} secs=${2:-20}
[ -x ./uzswapd ] && [ -f .libs/libuzswap.so ] || {
	echo "idle_clients: build first (./uzswapd, .libs/libuzswap.so)" >&2
	exit 2
}
dir=$(mktemp -d /tmp/uzswap-idle.XXXXXX) || exit 2
daemon= pids=()
cleanup() {
	[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status"; }

# measure CONF-TEXT LABEL
measure() {
	printf '%b' "$1" >"$dir/conf"
	./uzswapd --socket "$dir/sock" --config "$dir/conf" >"$dir/log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.05; done
	pids=()
	for _ in $(seq "$n"); do
		UZSWAP_SOCKET=$dir/sock LD_PRELOAD=$PWD/.libs/libuzswap.so \
			sleep $((secs + 15)) &
		pids+=($!)
	done
	sleep 5 # all connected, their first looks over
	local t0 w0 t1 w1 states
	t0=$(ticks "$daemon") w0=$(wakeups "$daemon")
	sleep "$secs"
	t1=$(ticks "$daemon") w1=$(wakeups "$daemon")
	states=$(UZSWAP_SOCKET=$dir/sock ./uzswapctl stats -r -n -o auto 2>/dev/null |
		sort | uniq -c | awk '{ printf "%s%d %s", (NR > 1 ? ", " : ""), $1, $2 }')
	printf '%-22s %d clients: daemon CPU %d.%02d %% of a core, %d wake-ups/s; AUTO: %s\n' \
		"$2" "$n" $(((t1 - t0) * 100 / secs / 100)) $(((t1 - t0) * 100 / secs % 100)) \
		$(((w1 - w0) / secs)) "${states:-none}"
	kill "${pids[@]}" 2>/dev/null
	kill "$daemon"
	wait 2>/dev/null
	daemon= pids=()
	rm -f "$dir/sock"
}

echo "idle_clients: $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure "" "built-in defaults"
measure "[daemon]\nauto=off\n" "auto=off"
