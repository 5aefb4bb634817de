#!/bin/sh
# SPDX-License-Identifier: MIT
# Many short programs under the agent do not flood uzswapd's log or
# systemd: their connects and disconnects are logged at debug level only,
# and STATUS= goes out at most about once a second; bad clients are
# warned about in a few lines, not one each.
. "${top_srcdir:-.}/tests/daemon_lib.sh"
agent="$top_builddir/.libs/libuzswap.so"
[ -e "$agent" ] || { echo "SKIP: no agent built"; exit 77; }

# a stand-in for systemd's notify socket, counting STATUS= datagrams
NOTIFY=$T_DIR/notify.sock
python3 - "$NOTIFY" "$T_DIR/status" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
n = 0
while True:
    m = s.recv(4096)
    if m.startswith(b"STOPPING"):
        break
    n += m.count(b"STATUS=")
    open(sys.argv[2], "w").write("%d\n" % n)
PY
T_PIDS="$T_PIDS $!"
t_wait_file "the notify socket" -S "$NOTIFY"
NOTIFY_SOCKET=$NOTIFY t_daemon_start
lines0=$(wc -l <"$T_DIR/uzswapd.log")
t0=$(date +%s)
LD_PRELOAD="$agent" sh -c 'for i in $(seq 200); do /bin/true; done' ||
	t_fail "200 programs under the agent failed"
t1=$(date +%s)
sleep 1.5 # the last STATUS= is due within a second
lines=$(( $(wc -l <"$T_DIR/uzswapd.log") - lines0 ))
status=$(cat "$T_DIR/status" 2>/dev/null || echo 0)
[ "$lines" -le 5 ] || t_fail "200 programs made $lines log lines: $(tail -3 "$T_DIR/uzswapd.log")"
[ "$status" -ge 1 ] || t_fail "no STATUS= at all"
[ "$status" -le $((t1 - t0 + 4)) ] ||
	t_fail "$status STATUS= updates in $((t1 - t0)) s"
echo "200 programs in $((t1 - t0)) s: $lines log lines, $status STATUS= updates"

# 500 connections sending garbage: warned about, but a few lines and a
# count, not one line each (journald's rate limit would then drop the
# lines that matter)
lines0=$(wc -l <"$T_DIR/uzswapd.log")
python3 - "$SOCK" <<'PY'
import socket, sys
for i in range(500):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(b"\xffgarbage")
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
lines=$(( $(wc -l <"$T_DIR/uzswapd.log") - lines0 ))
[ "$lines" -le 15 ] || t_fail "500 bad clients made $lines log lines"
kill -0 "$DPID" || t_fail "uzswapd died"
echo "500 bad clients: $lines log lines"
