#!/bin/sh
# SPDX-License-Identifier: MIT
# The agent starts late (lazy.c): a process under it connects once it has
# run UZSWAP_START_DELAY_MS (1 s by default), or at once when it maps
# 64 MB of anonymous memory or calls the uzswap_* API; before that it has
# one sleeping thread of ours and nothing else, and a process gone sooner
# never connects.  unshare(CLONE_NEWUSER) and fork() in that first second
# work as without the agent, and both processes connect later.
set -u
. "${top_srcdir:-.}/tests/daemon_lib.sh"
PROBE=$top_builddir/tests/it/lazy_probe
[ -x "$PROBE" ] || { echo "SKIP: build tests/it/lazy_probe first"; exit 77; }
AGENT=$(t_agent_preload)
t_daemon_start

# probe [ENV=VALUE...] -- ARGS: lazy_probe under the agent in the
# background, its output in $T_DIR/out.N; its pid in $PPID_ (the probe's)
n=0
probe() {
	n=$((n + 1))
	out=$T_DIR/out.$n
	env "$@" LD_PRELOAD="$AGENT" "$PROBE" $PROBE_ARGS >"$out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	t_wait_file "the probe's pid" -s "$out"
	PPID_=$(awk '$1 == "pid" { print $2 }' "$out")
}
client() { "$UZCTL" stats -n 2>/dev/null | awk -v p="$1" '$1 == p { f = 1 } END { exit !f }'; }
# said LINE: the probe wrote a line starting with LINE (within 5 s)
said() {
	i=0
	until grep -q "^$1" "$out"; do
		i=$((i + 1))
		[ $i -lt 100 ] || t_fail "the probe did not say '$1': $(cat "$out")"
		sleep 0.05
	done
}
# connected_within SECONDS PID: a client of the daemon by then
connected_within() {
	i=0
	until client "$2"; do
		i=$((i + 1))
		[ $i -lt $(($1 * 20)) ] || t_fail "pid $2 was no client after $1 s"
		sleep 0.05
	done
}
evict_and_check() {
	"$UZCTL" evict "$1" --all >/dev/null ||
		t_fail "evict of $1: $("$UZCTL" evict "$1" --all 2>&1)"
}

# the default: not a client in its first moments, one sleeping thread of
# ours (named as the agent's), no arena; a client after about a second
unset UZSWAP_START_DELAY_MS
PROBE_ARGS=wait probe
said threads
t=$(awk '$1 == "threads" { print $2 }' "$out")
[ "$t" = 2 ] || t_fail "before the start: $t threads, want 2 (the program's and the starter)"
grep -q uzswap-agent /proc/"$PPID_"/task/*/comm ||
	t_fail "the sleeping thread is not named uzswap-agent"
grep -q uzswap-arena /proc/"$PPID_"/maps && t_fail "an arena before the start"
client "$PPID_" && t_fail "a client at once, with the default delay"
t_expect 1 "no uzswap client with pid $PPID_ .*UZSWAP_START_DELAY_MS" \
	"$UZCTL" evict "$PPID_" --all
connected_within 5 "$PPID_"
evict_and_check "$PPID_"
echo "default delay: connected after the delay, not before"

# short processes never connect (the daemon logs each client it gets)
before=$(grep -c "new client" "$T_DIR/uzswapd.log")
i=0
while [ $i -lt 50 ]; do
	LD_PRELOAD="$AGENT" /bin/true || t_fail "/bin/true under the agent failed"
	i=$((i + 1))
done
LD_PRELOAD="$AGENT" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done' ||
	t_fail "sh under the agent failed"
after=$(grep -c "new client" "$T_DIR/uzswapd.log")
[ "$after" = "$before" ] ||
	t_fail "$((after - before)) short-lived process(es) connected"
echo "61 short-lived processes: none connected"

# 64 MB mapped starts it at once (the delay is an hour here)
PROBE_ARGS="map 128" probe UZSWAP_START_DELAY_MS=3600000
said mapped
connected_within 3 "$PPID_"
evict_and_check "$PPID_"
# and 16 MB does not
PROBE_ARGS="map 16" probe UZSWAP_START_DELAY_MS=3600000
said mapped
sleep 1
client "$PPID_" && t_fail "16 MB mapped started the agent"
echo "mapping: 128 MB starts the agent at once, 16 MB does not"

# the API starts it now
PROBE_ARGS=api probe UZSWAP_START_DELAY_MS=3600000
said active
grep -q "^active 1 " "$out" || t_fail "uzswap_active() before the delay: $(cat "$out")"
client "$PPID_" || t_fail "uzswap_active() said 1, but no client"
echo "the API: $(grep ^active "$out")"

# unshare(CLONE_NEWUSER) while the starter sleeps: as without the agent
if unshare -U true 2>/dev/null; then
	PROBE_ARGS=unshare probe UZSWAP_START_DELAY_MS=500
	said unshare
	grep -q "^unshare: ok" "$out" || t_fail "unshare in the first second: $(cat "$out")"
	connected_within 5 "$PPID_"
	evict_and_check "$PPID_"
	echo "unshare(CLONE_NEWUSER) in the first second: ok, connected after"
else
	echo "unshare -U is not allowed here: that part skipped"
fi

# fork() in the first second: parent and child both connect later
PROBE_ARGS=fork probe UZSWAP_START_DELAY_MS=500
said child
kid=$(awk '$1 == "child" { print $2 }' "$out")
T_PIDS="$T_PIDS $kid"
connected_within 5 "$PPID_"
connected_within 5 "$kid"
evict_and_check "$kid"
echo "fork() in the first second: parent and child connected after"

# a bad value: said, and the default taken
PROBE_ARGS=wait probe UZSWAP_START_DELAY_MS=soon
said threads
grep -q "UZSWAP_START_DELAY_MS=soon is not" "$out" ||
	t_fail "no warning for UZSWAP_START_DELAY_MS=soon: $(cat "$out")"
connected_within 5 "$PPID_"
echo "a bad UZSWAP_START_DELAY_MS: warned, the default used"
exit 0
