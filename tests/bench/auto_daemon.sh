# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # DIR, CHILD and CG are the caller's
# For the automatic-eviction benchmarks (zipf.sh, cglimit_sort.sh;
# sourced after zram.sh, with say() and UZSWAPD set):
#
#   auto_bench_dir NAME   a scratch directory $DIR (/tmp/uzswap-NAME.*)
#                         and the traps that undo everything on exit: the
#                         run in $CHILD, the cgroup $CG, zram, zswap
#                         (when zswap.sh is sourced), the daemon
#   auto_daemon_start     a private uzswapd on $DIR/sock: lz4, automatic
#                         eviction at its defaults; its log in
#                         $DIR/uzswapd.log

DAEMON_PID= CHILD= CG=

auto_bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	# the run must be gone before swapoff, or swapoff pulls its pages in
	# a run the daemon holds (frozen) dies only once thawed, which
	# the daemon does as it stops: both told first, then waited for
	[ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	[ -n "$CHILD" ] && wait "$CHILD" 2>/dev/null
	[ -n "$DAEMON_PID" ] && wait "$DAEMON_PID" 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	zram_teardown
	! declare -F zswap_teardown >/dev/null || zswap_teardown
	rm -rf "$DIR"
	exit "$rc"
}

auto_bench_dir() {
	DIR=$(mktemp -d "/tmp/uzswap-$1.XXXXXX") || exit 99
	chmod 755 "$DIR"
	trap auto_bench_cleanup EXIT
	trap 'say interrupted; exit 130' INT
	trap 'say terminated; exit 143' TERM
	trap 'say hung up; exit 129' HUP
}

auto_daemon_start() {
	printf '[daemon]\ncodec=lz4\nauto=on\n' >"$DIR/uzswapd.conf"
	env -u LD_PRELOAD "$UZSWAPD" --socket "$DIR/sock" --config "$DIR/uzswapd.conf" \
		>"$DIR/uzswapd.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do [ -S "$DIR/sock" ] && break; sleep 0.05; done
	[ -S "$DIR/sock" ] || { say "uzswapd did not start"; cat "$DIR/uzswapd.log" >&2; exit 99; }
}
