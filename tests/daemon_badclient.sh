#!/bin/sh
# SPDX-License-Identifier: MIT
# uzswapd against malformed clients, and uzswapctl evict against fake agents.

. "${top_srcdir:-.}/tests/daemon_lib.sh"

BC=$top_builddir/tests/daemon_badclient
[ -x "$BC" ] || t_fail "$BC not built (make check builds it)"

printf '[daemon]\nauto=off\nevict-timeout=1\n' >"$T_DIR/uzswapd.conf"
t_daemon_start -v

# the daemon's resident memory, kB
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }

# --- malformed and misbehaving clients (the checks are in the C program),
# three rounds: what the daemon keeps must not grow with them
"$BC" "$SOCK" malformed || t_fail "malformed clients"
kill -0 "$DPID" || t_fail "uzswapd died"
rss1=$(rss_kb)
"$BC" "$SOCK" malformed >/dev/null || t_fail "malformed clients (round 2)"
"$BC" "$SOCK" malformed >/dev/null || t_fail "malformed clients (round 3)"
rss3=$(rss_kb)
[ "$rss3" -le $((rss1 + 2048)) ] ||
	t_fail "uzswapd grew from ${rss1} kB to ${rss3} kB over two more rounds"
echo "uzswapd resident: ${rss1} kB after one round, ${rss3} kB after three"

# fake_agent MODE: start one, set APID once it has its welcome
fake_agent() {
	out=$T_DIR/agent-$1.out
	# gone first: the background job truncates it only once it runs,
	# and a second agent of a mode was read as the first's "ready"
	rm -f "$out"
	"$BC" "$SOCK" agent "$1" >"$out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	t_wait_for "the fake agent ($1)" grep -q '^ready' "$out"
	APID=$(sed -n 's/^ready //p' "$out")
}

# --- an agent that evicts: output format, exit 0, stats
fake_agent evict
t_expect 0 "^evicted 1G from $APID \(fakeagent\) in 512 blocks -> 312M stored \(ratio 3\.28\) in 0\.84 s; 0 skipped, 0 busy$" \
	"$UZCTL" evict "$APID" --all
t_expect 0 "^evicted 64M from $APID \(fakeagent\) in 32 blocks -> 20M stored" \
	"$UZCTL" evict "$APID" --bytes 64M
t_expect 0 "^ *$APID +fakeagent +2G +[0-9.]+[KMG]? +1\.1G +332M +3\.28 +100 +12us +12us$" \
	"$UZCTL" stats
"$UZCTL" stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = [c for c in d["clients"] if c["pid"] == int(sys.argv[1])][0]
assert c["command"] == "fakeagent", c
assert c["evicted_bytes"] == (1 << 30) + (64 << 20), c
assert c["faults"] == 100 and 10000 < c["lat_p50_ns"] < 14000, c
assert c["inactive_bytes"] == 128 << 20, c
assert d["totals"]["evicted_bytes"] >= c["evicted_bytes"], d
' "$APID" || t_fail "stats --json of the fake agent"
t_expect 0 "evicted: +1\.1G" "$UZCTL" status
# another user sees only their own processes' figures (as /proc with
# hidepid), and may not evict them
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chmod 755 "$T_DIR"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	out=$(as_nobody "$UZCTL" stats --json) || t_fail "stats as uid 65534 failed: $out"
	printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert not [c for c in d["clients"] if c["pid"] == int(sys.argv[1])], d
assert d["totals"]["evicted_bytes"] == 0, d
' "$APID" || t_fail "uid 65534 sees root's client $APID: $out"
	t_expect 1 "no uzswap client with pid $APID" as_nobody "$UZCTL" evict "$APID" --all
	t_expect 0 "clients: +0" as_nobody "$UZCTL" status
	# ... unless admin= names them
	reloads() { grep -c "configuration reloaded" "$T_DIR/uzswapd.log"; }
	# (a function: t_wait_for runs it again each time; a "$(reloads)"
	# in its arguments was counted once, and the wait failed when the
	# daemon had not logged the reload yet)
	reloaded_since() { [ "$(reloads)" -gt "$1" ]; }
	n0=$(reloads)
	printf '[daemon]\nauto=off\nevict-timeout=1\nadmin=user:65534\n' >"$T_DIR/uzswapd.conf"
	kill -HUP "$DPID"
	t_wait_for "the reload" reloaded_since "$n0"
	as_nobody "$UZCTL" stats --json | grep -q "\"pid\": *$APID\b" ||
		t_fail "admin=user:65534: uid 65534 does not see root's client"
	printf '[daemon]\nauto=off\nevict-timeout=1\n' >"$T_DIR/uzswapd.conf"
	n0=$(reloads)
	kill -HUP "$DPID"
	t_wait_for "the reload" reloaded_since "$n0"
	echo "stats and evict of another user's process: refused, unless admin="
fi
# progress goes to stderr when it is a terminal
if command -v script >/dev/null 2>&1; then
	script -qec "$UZCTL evict $APID --bytes 2M" /dev/null >"$T_DIR/tty.out" 2>&1
	grep -q "evicting from $APID (fakeagent): 1M of 2M" "$T_DIR/tty.out" ||
		t_fail "no progress on a terminal: $(cat "$T_DIR/tty.out")"
fi
# permission: only root and the agent's own user may evict (another
# user's client is not there, as far as the asker knows)
chmod 755 "$T_DIR"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$UZCTL" status >/dev/null 2>&1; then
	t_expect 1 "no uzswap client with pid $APID" setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$UZCTL" evict "$APID" --all
else
	echo "note: not checking EPERM (needs root, setpriv and a readable build)"
fi

# --- an agent that never answers: evict-timeout=1, and one at a time
fake_agent silent
"$UZCTL" evict "$APID" --all >"$T_DIR/first.out" 2>&1 &
first=$!
t_wait_for "the first eviction to start" grep -q "client $APID (fakeagent): evicting" \
	"$T_DIR/uzswapd.log"
t_expect 1 "an eviction is already running for pid $APID" \
	"$UZCTL" evict "$APID" --bytes 2M
wait "$first"
[ $? = 1 ] || t_fail "a timed-out eviction did not exit 1"
grep -q "^uzswapctl: eviction from $APID timed out after 1 s" "$T_DIR/first.out" ||
	t_fail "no timeout message: $(cat "$T_DIR/first.out")"
# uzswapctl's own --timeout
printf '[daemon]\nauto=off\nevict-timeout=60\n' >"$T_DIR/uzswapd.conf"
kill -HUP "$DPID"
t_wait_for "the reload" grep -q "evict-timeout 60 s" "$T_DIR/uzswapd.log"
t_expect 1 "timed out after 0\.3 s waiting for the eviction from $APID" \
	"$UZCTL" evict "$APID" --all --timeout 0.3
# the daemon forgot that request when uzswapctl went away
t_wait_for "the request to be forgotten" sh -c \
	'! "$0" evict "$1" --all --timeout 0.2 2>&1 | grep -q "already running"' \
	"$UZCTL" "$APID"

# --- an agent that dies during the eviction
fake_agent die
t_expect 1 "^uzswapctl: client $APID went away during eviction$" \
	"$UZCTL" evict "$APID" --all

# ... before it says anything, and right after it said it was done
fake_agent die-early
t_expect 1 "^uzswapctl: client $APID went away during eviction$" \
	"$UZCTL" evict "$APID" --all
fake_agent die-done
t_expect 0 "^evicted 1G from $APID" "$UZCTL" evict "$APID" --all

kill -0 "$DPID" || t_fail "uzswapd died"
t_expect 0 "clients: " "$UZCTL" status
# and a well-behaved agent is served as ever after all of the above
fake_agent evict
t_expect 0 "^evicted 1G from $APID \(fakeagent\)" "$UZCTL" evict "$APID" --all

# --- bounded: a daemon with 200 descriptors takes (200 - 64) / 2 = 68
# connections and refuses the rest with a reason
# (the old one must be gone first: it still holds the socket while it
# closes its clients, and a new one would see "another uzswapd running")
kill "$DPID"
wait "$DPID" 2>/dev/null
: >"$T_DIR/subuid"
UZSWAPD_SUBUID_FILE=$T_DIR/subuid sh -c 'ulimit -n 200 && exec "$@"' sh "$UZD" --socket "$SOCK" \
	--config "$T_DIR/uzswapd.conf" 2>>"$T_DIR/uzswapd.log" &
DPID=$!
T_PIDS="$T_PIDS $DPID"
t_wait_for "uzswapd with 200 descriptors" "$UZCTL" status
t_expect 0 "100 connections: 68 served, 32 refused" "$BC" "$SOCK" flood 100
grep -q "at most 68 connections" "$T_DIR/uzswapd.log" || t_fail "no log of the cap"

# --- one user cannot take them all: uid 65534 holds as many as it may
# (a quarter, 17), and root and another user still get in
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chmod 755 "$T_DIR"
	cat >"$T_DIR/hold.py" <<'PY'
import select, socket, sys, time
held, refused = [], 0
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(0.5)
for s in held:
    # a refused connection has its error waiting; a served one, nothing
    if select.select([s], [], [], 0)[0]:
        refused += 1
open(sys.argv[2], "w").write("%d %d\n" % (len(held) - refused, refused))
time.sleep(30)
PY
	chmod 644 "$T_DIR/hold.py"
	# hold UID N: uid UID opens N connections and holds them
	hold() {
		: >"$T_DIR/held"
		chmod 666 "$T_DIR/held"
		setpriv --reuid="$1" --regid="$1" --clear-groups /usr/bin/python3 \
			"$T_DIR/hold.py" "$SOCK" "$T_DIR/held" "$2" &
		FLOOD=$!
		T_PIDS="$T_PIDS $FLOOD"
		t_wait_file "uid $1's connections" -s "$T_DIR/held"
	}
	hold 65534 100
	[ "$(cat "$T_DIR/held")" = "17 83" ] ||
		t_fail "uid 65534 was served/refused $(cat "$T_DIR/held"), want 17 83"
	t_expect 0 "clients: " "$UZCTL" status
	t_expect 0 "clients: " setpriv --reuid=65533 --regid=65533 --clear-groups \
		"$UZCTL" status
	kill "$FLOOD"
	wait "$FLOOD" 2>/dev/null
	sleep 0.2 # the daemon sees them go
	echo "uid 65534 held 17 connections, refused 83; root and uid 65533 served"

	# a user's subordinate uids (/etc/subuid) share that user's quarter
	printf '# owner:first:count\n65533:65534:1\nnot a line\n65533:-4294967296:4294968296\n' >"$T_DIR/subuid"
	kill -HUP "$DPID"
	t_wait_for "the reload" grep -q "2 line(s) not understood" "$T_DIR/uzswapd.log"
	hold 65534 17
	[ "$(cat "$T_DIR/held")" = "17 0" ] ||
		t_fail "uid 65534 was served/refused $(cat "$T_DIR/held"), want 17 0"
	owner=$FLOOD
	hold 65533 1
	[ "$(cat "$T_DIR/held")" = "0 1" ] ||
		t_fail "uid 65533, owner of 65534 in subuid, got $(cat "$T_DIR/held") beyond the share, want 0 1"
	t_expect 0 "clients: " "$UZCTL" status
	kill "$FLOOD" "$owner"
	wait "$FLOOD" "$owner" 2>/dev/null
	sleep 0.2 # the daemon sees them go
	echo "uid 65533's subordinate uid 65534 held its whole share: 65533 refused, root served"

	# root's ranges are its containers' (LXD, Incus): a share of their
	# own, never root's (a container's uid once took every connection)
	printf 'root:1000000:65536\n' >"$T_DIR/subuid"
	n0=$(grep -c "configuration reloaded" "$T_DIR/uzswapd.log")
	kill -HUP "$DPID"
	t_wait_for "the reload" sh -c '[ "$(grep -c "configuration reloaded" "$1")" -gt "$2" ]' \
		sh "$T_DIR/uzswapd.log" "$n0"
	hold 1000005 100
	[ "$(cat "$T_DIR/held")" = "17 83" ] ||
		t_fail "uid 1000005 (root's subordinate) got $(cat "$T_DIR/held"), want 17 83"
	t_expect 0 "clients: " "$UZCTL" status
	kill "$FLOOD"
	wait "$FLOOD" 2>/dev/null
	sleep 0.2
	echo "a uid of root's subordinate range: one share, not root's"

	# a pid that exec'd a setuid program since it connected (its child
	# says hello): not taken for a privileged process
	if [ -u /usr/bin/passwd ]; then
		out=$(sleep 5 | setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$BC" "$SOCK" exec-hello /usr/bin/passwd 2>&1 | grep -v '^Changing')
		case $out in
		*refused*"no longer runs as uid 65534"*) ;;
		*) t_fail "a hello for a pid now running setuid passwd: $out" ;;
		esac
		echo "hello for a pid that exec'd setuid passwd: ${out#*password: }"
	fi
fi
exit 0
