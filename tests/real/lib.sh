# SPDX-License-Identifier: MIT
# Shared by the real-program tests: a private uzswapd, cleaned up on exit.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
UZ_DIR=$(mktemp -d /tmp/uzswap-real.XXXXXX)
chmod 755 "$UZ_DIR"
export UZSWAP_SOCKET="$UZ_DIR/uzswapd.sock"
UZ_AGENT="$top_builddir/.libs/libuzswap.so"
UZ_CTL="$top_builddir/uzswapctl"
UZ_DAEMON_PID=
# LD_PRELOAD for a program under the agent. A sanitizer run
# (scripts/check-sanitize.sh) names what must come first: the sanitizer's
# runtime; its leak check stays off (see tests/it/itest.c).
uz_preload() { echo "${UZ_TEST_PRELOAD_FIRST:+$UZ_TEST_PRELOAD_FIRST:}$UZ_AGENT"; }
[ -n "${UZ_TEST_PRELOAD_FIRST:-}" ] &&
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# seconds to wait for a program's answer; under a sanitizer every process
# the program starts is slower (a pyenv shim's bash scripts under
# ThreadSanitizer took 50 s before python3 ran)
UZ_WAIT_S=50
[ -n "${UZ_TEST_PRELOAD_FIRST:-}" ] && UZ_WAIT_S=200
# Under a sanitizer, python3 is the interpreter itself, not a version
# manager's shim: a shim is bash scripts that fork under the agent, which
# a sanitizer's runtime cannot take (real_bash.sh skips for that reason;
# real_python.sh hung in a pyenv shim under ASan)
if [ -n "${UZ_TEST_PRELOAD_FIRST:-}" ] && command -v python3 >/dev/null; then
	mkdir -p "$UZ_DIR/bin" &&
		ln -sf "$(python3 -c 'import sys; print(sys.executable)')" "$UZ_DIR/bin/python3" &&
		PATH=$UZ_DIR/bin:$PATH
fi

uz_cleanup() {
	[ -n "$UZ_DAEMON_PID" ] && kill "$UZ_DAEMON_PID" 2>/dev/null
	[ -n "$UZ_DAEMON_PID" ] && wait "$UZ_DAEMON_PID" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	rm -rf "$UZ_DIR"
}
trap uz_cleanup EXIT

uz_skip() { echo "SKIP: $*"; exit 77; }
uz_fail() { echo "FAIL: $*"; echo "--- uzswapd log"; tail -n 20 "$UZ_DIR/log" 2>/dev/null; exit 1; }

# uz_start_daemon [CONFIG]: CONFIG is uzswapd.conf's text (printf format)
uz_start_daemon() {
	# uid 65534 too: programs drop to it (real_privdrop); these tests
	# evict by hand (uz_evict), so no automatic loop beside, whatever
	# /etc/uzswap says, unless CONFIG says otherwise
	printf "${1:-[daemon]\\nauto=off\\n}" >"$UZ_DIR/uzswapd.conf"
	"$top_builddir/uzswapd" --socket "$UZSWAP_SOCKET" --allow user:65534 \
		--config "$UZ_DIR/uzswapd.conf" >"$UZ_DIR/log" 2>&1 &
	UZ_DAEMON_PID=$!
	for _ in $(seq 100); do
		[ -S "$UZSWAP_SOCKET" ] && "$UZ_CTL" status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	uz_fail "uzswapd did not start"
}

# uz_evict PID: evict everything of PID; fails the test on error
uz_evict() {
	local out
	out=$("$UZ_CTL" evict "$1" --all 2>&1) || uz_fail "evict $1: $out"
	echo "  $out"
}

# uz_evict_some PID NAME: evict everything of PID, say how much went
# (and set $evicted to it), and fail the test if nothing of NAME did
uz_evict_some() {
	local rss0 rss1
	rss0=$(awk '/RssAnon/ {print $2}' "/proc/$1/status")
	uz_evict "$1"
	rss1=$(awk '/RssAnon/ {print $2}' "/proc/$1/status")
	evicted=$(uz_stat "$1" evicted_bytes)
	echo "  RssAnon ${rss0} kB -> ${rss1} kB, ${evicted} bytes evicted"
	[ "$evicted" -gt 0 ] || uz_fail "nothing of $2 was evicted"
}

# uz_stat PID KEY: one counter of PID from stats --json
uz_stat() {
	"$UZ_CTL" stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for c in d["clients"]:
    if c["pid"] == int(sys.argv[1]):
        print(c[sys.argv[2]]); break
else:
    print(0)' "$1" "$2"
}

# Is the uffd MOVE feature here?  (the agent needs it)
[ -e /dev/userfaultfd ] || [ "$(id -u)" = 0 ] || uz_skip "no /dev/userfaultfd"

# uz_sort_input FILE LINES SEED: LINES random lines for sort(1), written
# out and dropped from the page cache (a reader's pages are then its own
# cgroup's charge)
uz_sort_input() {
	python3 - "$@" <<'PY'
import os, random, sys
r = random.Random(int(sys.argv[3]))
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write("%016x %s %d\n" % (r.getrandbits(64), "k" * r.randint(0, 40), i))
    f.flush()
    os.fsync(f.fileno())
    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
PY
}
