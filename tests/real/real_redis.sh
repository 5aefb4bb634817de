#!/bin/bash
# SPDX-License-Identifier: MIT
# redis-server (jemalloc, an event loop, fork for BGSAVE) holds a few
# hundred MB of mixed data; its DEBUG DIGEST stays the same when all of
# it is evicted, and the RDB its forked child writes from evicted memory
# loads into a redis without the agent with the same digest.
. "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || uz_skip "no redis-server"
command -v redis-cli >/dev/null || uz_skip "no redis-cli"
uz_start_daemon

# Private everything: no TCP port (--port 0), a unix socket, a dir and a
# log in $UZ_DIR, no automatic saves: a system redis is never touched.
# DEBUG needs --enable-debug-command on Redis 7 (older ones reject the
# option: start again without it).
REDIS_PIDS=
redis_start() {	# NAME [env...]: redis NAME in $UZ_DIR/NAME; its pid in $pid
	local name=$1 d=$UZ_DIR/$1 opt=--enable-debug-command
	shift
	mkdir -p "$d"
	for _ in 1 2; do
		env "$@" redis-server --port 0 --unixsocket "$d/sock" --dir "$d" \
			--dbfilename dump.rdb --save '' --appendonly no \
			--daemonize no --logfile "$d/log" ${opt:+$opt yes} \
			>"$d/stdout" 2>"$d/stderr" &
		pid=$!
		for _ in $(seq 200); do
			[ "$(redis-cli -s "$d/sock" PING 2>/dev/null)" = PONG ] &&
				{ REDIS_PIDS="$REDIS_PIDS $pid"; return 0; }
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
		done
		kill $pid 2>/dev/null; wait $pid 2>/dev/null
		opt=
	done
	uz_fail "redis-server $name did not start: $(tail -n 3 "$d/log" "$d/stderr")"
}
redis_stop() {	# stop our servers (only ours: by pid); KILL one that hangs
	for p in $REDIS_PIDS; do
		# a BGSAVE child still there is stuck: it would outlive us
		for c in $(pgrep -P $p); do kill -9 $c; done
		kill $p 2>/dev/null
		for _ in $(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
		kill -9 $p 2>/dev/null
		wait $p 2>/dev/null
	done
	REDIS_PIDS=
}
trap 'redis_stop; uz_cleanup' EXIT
# (a timeout: a hung server fails the test instead of hanging it, and
# says so: an empty answer under make check-tsan at load 5 could not be
# told from a wrong one; a sanitized run is given longer)
RC_TIMEOUT=60
[ -n "${UZ_TEST_PRELOAD_FIRST:-}" ] && RC_TIMEOUT=300
rc() {
	timeout "$RC_TIMEOUT" redis-cli -s "$UZ_DIR/$1/sock" "${@:2}"
	local st=$?
	[ $st = 124 ] && echo "(redis-cli timed out after $RC_TIMEOUT s: $2)"
	return $st
}
digest() { echo "$(rc "$1" DBSIZE) $(rc "$1" DEBUG DIGEST)"; }

redis_start a LD_PRELOAD="$(uz_preload)"
rpid=$pid

# Fill: zero-padded strings from DEBUG POPULATE, and through the normal
# protocol random (incompressible) and text-like strings, hashes, lists,
# sets and sorted sets.
rc a DEBUG POPULATE 300000 pop 400 >/dev/null || uz_fail "DEBUG POPULATE failed"
python3 - >"$UZ_DIR/fill.resp" <<'PY'
import random, sys
r = random.Random(11)
out = sys.stdout.buffer
def cmd(*a):
    a = [x if isinstance(x, bytes) else str(x).encode() for x in a]
    out.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
words = [("w%d" % i).encode() * r.randint(1, 4) for i in range(5000)]
for i in range(40000):
    cmd("SET", "rnd:%d" % i, r.randbytes(r.randint(500, 3000)))
for i in range(40000):
    cmd("SET", "txt:%d" % i, b" ".join(r.choices(words, k=r.randint(10, 120))))
for i in range(1500):
    cmd("HSET", "h:%d" % i, *[x for f in range(r.randint(10, 100))
                              for x in ("f%d" % f, r.choice(words) * r.randint(1, 9))])
    cmd("RPUSH", "l:%d" % i, *[r.randbytes(r.randint(1, 1000)) for _ in range(r.randint(5, 100))])
    cmd("SADD", "s:%d" % i, *[r.getrandbits(40) for _ in range(r.randint(5, 100))])
    cmd("ZADD", "z:%d" % i, *[x for _ in range(r.randint(5, 100))
                              for x in (r.random() * 1e6, r.choice(words))])
    cmd("INCRBY", "n:%d" % (i % 500), r.randint(-1000, 1000))
PY
out=$(rc a --pipe <"$UZ_DIR/fill.resp" 2>&1) || uz_fail "filling redis failed: $out"
echo "  $(echo "$out" | tail -n 1)"
rm -f "$UZ_DIR/fill.resp"
used=$(rc a INFO memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')
want=$(digest a)
echo "  redis: $want, used_memory $used"

uz_evict_some $rpid redis-server
got=$(digest a)
[ "$got" = "$want" ] || uz_fail "digest after eviction: $got, not $want"

# BGSAVE forks while (most of) the memory is evicted again: the child
# reads it all to write the RDB.
uz_evict $rpid
rc a BGSAVE >/dev/null || uz_fail "BGSAVE failed"
for _ in $(seq 400); do	# 40 s and more
	rc a INFO persistence | grep -q '^rdb_bgsave_in_progress:0' && break
	sleep 0.1
done
info=$(rc a INFO persistence | tr -d '\r')
echo "$info" | grep -q '^rdb_bgsave_in_progress:0' ||
	uz_fail "BGSAVE did not finish: $(for c in $(pgrep -P $rpid); do
		echo "child $c in $(cat /proc/$c/wchan)"; done)"
echo "$info" | grep -q '^rdb_last_bgsave_status:ok' || uz_fail "BGSAVE failed: $info"
uz_evict $rpid
got=$(digest a)
[ "$got" = "$want" ] || uz_fail "digest after BGSAVE and eviction: $got, not $want"

# the RDB, loaded by a redis-server without the agent
mkdir -p "$UZ_DIR/b"
mv "$UZ_DIR/a/dump.rdb" "$UZ_DIR/b/dump.rdb" || uz_fail "no RDB written"
redis_start b
got=$(digest b)
[ "$got" = "$want" ] || uz_fail "digest of the RDB loaded without the agent: $got, not $want"

# Neither redis nor the agent complained: no warnings ('#') beyond
# redis's start-up lines and its advice about the host, nothing on stderr
# (where the agent logs), and the save and the load both said so.
bad=$(grep -h ' # ' "$UZ_DIR/a/log" "$UZ_DIR/b/log" | grep -v -e 'oO0OoO0OoO0Oo' \
	-e 'Redis version=' -e 'Configuration loaded' -e 'Server initialized' \
	-e 'WARNING Memory overcommit' -e 'WARNING you have Transparent Huge Pages')
[ -z "$bad" ] || uz_fail "redis logged: $bad"
[ -s "$UZ_DIR/a/stderr" ] && uz_fail "stderr of redis under the agent: $(head -n 5 "$UZ_DIR/a/stderr")"
grep -q 'Background saving terminated with success' "$UZ_DIR/a/log" || uz_fail "no successful BGSAVE in the log"
grep -q 'DB loaded from disk' "$UZ_DIR/b/log" || uz_fail "the RDB was not loaded"
redis_stop
echo "redis-server: keys and digest ($want) identical after eviction, BGSAVE and reload ($evicted bytes evicted)"
