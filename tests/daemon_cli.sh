#!/bin/sh
# SPDX-License-Identifier: MIT
# uzswapd and uzswapctl without an agent: options, errors, config, signals.

. "${top_srcdir:-.}/tests/daemon_lib.sh"

json_ok() {
	python3 -c 'import json, sys; json.load(sys.stdin)'
}

# --- no daemon
out=$("$UZCTL" status 2>&1)
[ $? = 1 ] || t_fail "status without a daemon did not exit 1"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] ||
	t_fail "status without a daemon printed more than one line: $out"
printf '%s\n' "$out" | grep -q "^uzswapctl: cannot reach uzswapd at $SOCK: .*(is it running?)$" ||
	t_fail "unexpected message without a daemon: $out"

# --- usage errors: exit 2
t_expect 2 "unknown command 'frobnicate'" "$UZCTL" frobnicate
t_expect 2 "no command" "$UZCTL"
t_expect 2 "unknown option" "$UZCTL" stats --frob
t_expect 2 "which PID" "$UZCTL" evict
t_expect 2 "either --all or --bytes" "$UZCTL" evict 1
t_expect 2 "either --all or --bytes" "$UZCTL" evict 1 --all --bytes 1M
t_expect 2 "needs an argument" "$UZCTL" evict 1 --bytes
t_expect 2 "which PROGRAM" "$UZCTL" run
t_expect 0 "Usage: uzswapctl" "$UZCTL" help
t_expect 0 "Usage: uzswapctl" "$UZCTL" --help
t_expect 0 "Available output columns" "$UZCTL" stats --help
t_expect 0 "^uzswapctl [0-9]" "$UZCTL" --version
t_expect 0 "^uzswapd [0-9]" "$UZD" --version
t_expect 2 "unexpected argument" "$UZD" extra

# --- bad values: exit 1, checked before anything is sent
t_expect 1 "invalid size '12Q'" "$UZCTL" evict 1 --bytes 12Q
t_expect 1 "not a percentage" "$UZCTL" evict 1 --bytes 50%
t_expect 1 "invalid pid 'abc'" "$UZCTL" evict abc --all
t_expect 1 "invalid timeout" "$UZCTL" evict 1 --all --timeout soon
t_expect 2 "restore: which PID" "$UZCTL" restore
t_expect 2 "unexpected argument '2'" "$UZCTL" restore 1 2
t_expect 1 "invalid pid 'x'" "$UZCTL" restore x
t_expect 2 "unknown option '--all'" "$UZCTL" restore 1 --all

# --- run: the agent goes first in LD_PRELOAD
: >"$T_DIR/agent.so"
t_expect 1 "agent $T_DIR/none.so: No such file" \
	env UZSWAP_AGENT="$T_DIR/none.so" "$UZCTL" run -- true
out=$(UZSWAP_AGENT="$T_DIR/agent.so" LD_PRELOAD= \
	"$UZCTL" --socket /x/y.sock run -- sh -c 'echo "$LD_PRELOAD $UZSWAP_SOCKET"' 2>/dev/null)
[ "$out" = "$T_DIR/agent.so /x/y.sock" ] || t_fail "run set '$out'"
t_expect 127 "cannot run" env UZSWAP_AGENT="$T_DIR/agent.so" \
	"$UZCTL" run -- "$T_DIR/no-such-program"

# --- an idle daemon
t_daemon_start
t_expect 0 "clients: +0" "$UZCTL" status
t_expect 0 "codec: +lz4" "$UZCTL" status
"$UZCTL" status --json | json_ok || t_fail "status --json is not JSON"
t_expect 0 "^ *PID +COMMAND +REGISTERED" "$UZCTL" stats
"$UZCTL" stats --json | json_ok || t_fail "stats --json is not JSON"
"$UZCTL" stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["clients"] == [] and d["totals"]["clients"] == 0, d' ||
	t_fail "stats --json of an idle daemon"
t_expect 0 "^EVICTED STORED$" "$UZCTL" stats -o evicted,stored --raw
[ -z "$("$UZCTL" stats -n --raw)" ] || t_fail "stats -n --raw is not empty"
t_expect 1 "unknown column 'NOPE'" "$UZCTL" stats -o PID,NOPE
t_expect 1 "no uzswap client with pid 999999" "$UZCTL" evict 999999 --all
t_expect 1 "no uzswap client with pid 999999" "$UZCTL" evict 999999 --bytes 1G
t_expect 1 "no uzswap client with pid 999999" "$UZCTL" restore 999999

# --- one daemon per socket; a stale socket is replaced
t_expect 1 "another uzswapd is running on $SOCK" \
	"$UZD" --socket "$SOCK" --config "$T_DIR/uzswapd.conf"
kill -0 "$DPID" || t_fail "the second uzswapd killed the first"
t_expect 0 "clients: +0" "$UZCTL" status
: >"$T_DIR/file"
t_expect 1 "exists and is not a socket" \
	"$UZD" --socket "$T_DIR/file" --config "$T_DIR/uzswapd.conf"

# --- configuration errors: file:line, exit 1
conf=$T_DIR/bad.conf
bad_config() { # LINE2 PATTERN
	printf '[daemon]\n%s\n' "$1" >"$conf"
	t_expect 1 "$conf:2: $2" "$UZD" --socket "$T_DIR/x.sock" --config "$conf"
}
bad_config "frobs=3" "unknown key 'frobs'"
bad_config "codec=gzip" "unknown codec .gzip."
bad_config "codec=zstd:99" "zstd level 99 out of range"
bad_config "log-level=loud" "log-level must be"
bad_config "evict-timeout=abc" "evict-timeout must be"
bad_config "evict-timeout=0" "evict-timeout must be"
bad_config "socket=relative.sock" "socket must be an absolute path"
bad_config "auto=yes" "auto must be on or off, not 'yes'"
bad_config "auto-interval=50" "auto-interval must be 100 to 600000 ms"
bad_config "auto-step=0" "auto-step must be 1 to 100 %"
bad_config "auto-step=101" "auto-step must be 1 to 100 %"
bad_config "auto-guard=-1" "auto-guard must be 1 to 86400 seconds"
bad_config "min-age=3601" "min-age must be 0 to 3600 seconds"
bad_config "auto-pressure=10.5" "auto-pressure must be 1 to 100 %"
bad_config "auto-refaults=" "empty value for auto-refaults"
bad_config "auto-refaults=200" "auto-refaults must be 1 to 100 %"
bad_config "target=5" "target must be a size of 2M or more"
bad_config "[cgroup system.slice]" ".cgroup system.slice.: not a cgroup path"
bad_config "[unit a/b.service]" ".unit a/b.service.: not a unit name"
bad_config "[slice x]" "unknown section .slice x."
printf '[unit db.service]\nauto-interval=300\n' >"$conf"
t_expect 1 "$conf:2: auto-interval is for .daemon. only" "$UZD" --socket "$T_DIR/x.sock" --config "$conf"
bad_config "no equals sign" "expected key=value"
bad_config "[pool]" "unknown section \[pool\]"
printf 'codec=lz4\n' >"$conf"
t_expect 1 "$conf:1: 'codec' outside a section" \
	"$UZD" --socket "$T_DIR/x.sock" --config "$conf"
# a NUL byte, even in a last line without a newline (found by fuzz_config)
printf '[daemon]\nsocket=/a\000b' >"$conf"
t_expect 1 "$conf:2: NUL byte in line" \
	"$UZD" --socket "$T_DIR/x.sock" --config "$conf"
t_expect 1 "$T_DIR/missing.conf: No such file" \
	"$UZD" --socket "$T_DIR/x.sock" --config "$T_DIR/missing.conf"
# drop-ins: read in name order, a bad one is named
printf '[daemon]\ncodec=lz4\n' >"$conf"
mkdir "$conf.d"
printf '[daemon]\nlog-level=debug\n' >"$conf.d/10-ok.conf"
printf '# comment\n[daemon]\nbogus=1\n' >"$conf.d/20-bad.conf"
t_expect 1 "$conf.d/20-bad.conf:3: unknown key 'bogus'" \
	"$UZD" --socket "$T_DIR/x.sock" --config "$conf"
[ ! -e "$T_DIR/x.sock" ] || t_fail "a daemon with a bad config left a socket"

# --- SIGHUP: a bad file keeps the old settings, a good one applies
printf '[daemon]\ncodec=zstd:3\n' >"$T_DIR/uzswapd.conf"
kill -HUP "$DPID"
t_wait_for "zstd after SIGHUP" sh -c '"$0" status | grep -q "codec: *zstd level 3"' "$UZCTL"
printf '[daemon]\ncodec=nope\n' >"$T_DIR/uzswapd.conf"
kill -HUP "$DPID"
t_wait_for "the reload error in the log" grep -q "uzswapd.conf:2:.*keeping the old" "$T_DIR/uzswapd.log"
t_expect 0 "codec: +zstd level 3" "$UZCTL" status
# the command line beats the configuration
printf '[daemon]\ncodec=zstd\n' >"$T_DIR/uzswapd.conf"
"$UZD" --socket "$SOCK.2" --config "$T_DIR/uzswapd.conf" --codec lz4 \
	2>>"$T_DIR/uzswapd.log" &
p2=$!
T_PIDS="$T_PIDS $p2"
t_wait_for "a second daemon" env UZSWAP_SOCKET="$SOCK.2" "$UZCTL" status
t_expect 0 "codec: +lz4" env UZSWAP_SOCKET="$SOCK.2" "$UZCTL" status
kill "$p2"

# --- SIGTERM: exit 0, socket gone
kill -TERM "$DPID"
wait "$DPID"
st=$?
[ $st = 0 ] || t_fail "uzswapd exited $st after SIGTERM"
[ ! -e "$SOCK" ] || t_fail "socket left behind after SIGTERM"
# ... and a stale socket left by a killed daemon is replaced
t_daemon_start
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
[ -S "$SOCK" ] || t_fail "no stale socket to test with"
t_daemon_start
t_expect 0 "clients: +0" "$UZCTL" status
grep -q "removed stale socket" "$T_DIR/uzswapd.log" || t_fail "stale socket not reported"
exit 0
