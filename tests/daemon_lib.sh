# SPDX-License-Identifier: MIT
# Helpers of the daemon tests: a private uzswapd, cleanup on any exit, checks.
# Sourced; sets UZD, UZCTL, T_DIR, SOCK and exports UZSWAP_SOCKET.

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
UZD=$top_builddir/uzswapd
UZCTL=$top_builddir/uzswapctl
[ -x "$UZD" ] && [ -x "$UZCTL" ] || {
	echo "SKIP: build uzswapd and uzswapctl first" >&2
	exit 77
}

# tmux -L style: a private directory and socket per run
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uzswap-test-$$.XXXXXX") || exit 99
SOCK=$T_DIR/uzswapd-$$.sock
UZSWAP_SOCKET=$SOCK
export UZSWAP_SOCKET
T_PIDS=

t_cleanup() {
	for p in $T_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 1' HUP INT TERM

t_fail() {
	echo "FAIL: $*" >&2
	if [ -s "$T_DIR/uzswapd.log" ]; then
		echo "--- uzswapd log:" >&2
		tail -n 20 "$T_DIR/uzswapd.log" >&2
	fi
	exit 1
}

# t_daemon_start [ARGS...]: uzswapd on $SOCK with $T_DIR/uzswapd.conf
# (unless the test wrote one: the automatic loop off, as these tests
# evict by hand); waits until it answers.
t_daemon_start() {
	[ -e "$T_DIR/uzswapd.conf" ] || printf '[daemon]\nauto=off\n' >"$T_DIR/uzswapd.conf"
	"$UZD" --socket "$SOCK" --config "$T_DIR/uzswapd.conf" "$@" \
		2>>"$T_DIR/uzswapd.log" &
	DPID=$!
	T_PIDS="$T_PIDS $DPID"
	t_wait_for "uzswapd to answer" "$UZCTL" status
}

# t_wait_for WHAT CMD...: retry CMD for up to 5 s
t_wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || t_fail "timed out waiting for $what"
		kill -0 "$DPID" 2>/dev/null || t_fail "uzswapd died"
		sleep 0.05
	done
}

# t_wait_file WHAT TEST PATH: wait up to 15 s for `test TEST PATH`
# (-e, -s, -S) to hold, with no daemon involved
t_wait_file() {
	i=0
	until test "$2" "$3"; do
		i=$((i + 1))
		[ $i -lt 300 ] || t_fail "timed out waiting for $1"
		sleep 0.05
	done
}

# t_expect STATUS PATTERN CMD...: CMD exits with STATUS and its output
# (stdout and stderr) matches the extended regex PATTERN.
t_expect() {
	want=$1
	pattern=$2
	shift 2
	out=$("$@" 2>&1)
	st=$?
	[ "$st" = "$want" ] ||
		t_fail "'$*' exited $st, expected $want; output: $out"
	printf '%s\n' "$out" | grep -Eq -- "$pattern" ||
		t_fail "'$*' printed '$out', expected /$pattern/"
}

# t_agent_preload: what LD_PRELOAD takes for the agent, a copy in $T_DIR
# that other users may load (the build tree may be in a directory they
# cannot enter, such as /root after the README's clone: there the
# dynamic loader skipped the agent and tests run as uid 65534 ran
# without it); in a sanitizer run (scripts/check-sanitize.sh) the
# sanitizer's runtime comes first
t_agent_preload() {
	cp "$top_builddir/.libs/libuzswap.so" "$T_DIR/libuzswap.so" &&
		chmod 755 "$T_DIR" "$T_DIR/libuzswap.so" ||
		t_fail "cannot copy the agent into $T_DIR"
	if [ -n "${UZ_TEST_PRELOAD_FIRST:-}" ]; then
		printf '%s:%s\n' "$UZ_TEST_PRELOAD_FIRST" "$T_DIR/libuzswap.so"
	else
		printf '%s\n' "$T_DIR/libuzswap.so"
	fi
}
if [ -n "${UZ_TEST_PRELOAD_FIRST:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
