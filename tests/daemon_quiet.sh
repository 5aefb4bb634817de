#!/bin/sh
# SPDX-License-Identifier: MIT
# Many short programs under the agent do not flood uzswapd's log or
# systemd: their connects and disconnects are logged at debug level only,
# and STATUS= goes out at most about once a second; bad clients are
# warned about in a few lines, not one each.
. "${top_srcdir:-.}/tests/daemon_lib.sh"
[ -e "$top_builddir/.libs/libuzswap.so" ] || { echo "SKIP: no agent built"; exit 77; }
agent=$(t_agent_preload)

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
# a 10 s period for client warnings, so that their summary comes soon
NOTIFY_SOCKET=$NOTIFY UZSWAPD_TEST_WARN_PERIOD_S=10 t_daemon_start
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
cat >"$T_DIR/bad.py" <<'PY'
import os, socket, sys
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(b"\xffgarbage")
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
print(os.getpid())
PY
chmod 644 "$T_DIR/bad.py"
python3 "$T_DIR/bad.py" "$SOCK" 500 >/dev/null
lines=$(( $(wc -l <"$T_DIR/uzswapd.log") - lines0 ))
[ "$lines" -le 15 ] || t_fail "500 bad clients made $lines log lines"
kill -0 "$DPID" || t_fail "uzswapd died"
echo "500 bad clients: $lines log lines"

# wait_log WHAT PATTERN: up to 15 s for PATTERN in the daemon's log
wait_log() {
	i=0
	until grep -q "$2" "$T_DIR/uzswapd.log"; do
		i=$((i + 1))
		[ $i -lt 150 ] || t_fail "timed out waiting for $1"
		sleep 0.1
	done
}

# what was left out is said once the period is over, per user
wait_log "the summary of the lines left out" 'uid 0: [0-9]* more "dropping" lines not logged'
echo "summary: $(grep -o 'uid 0: [0-9]* more "dropping" lines not logged in [0-9]* s' "$T_DIR/uzswapd.log")"

# one user's flood does not use up another user's lines
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
	chmod 755 "$T_DIR"
	as() { setpriv --reuid="$1" --regid="$1" --clear-groups /usr/bin/python3 "$T_DIR/bad.py" "$SOCK" "$2"; }
	as 65534 200 >/dev/null || t_fail "the flood as uid 65534 failed"
	other=$(as 65533 1) || t_fail "the bad client as uid 65533 failed"
	grep -q "dropping connection of pid $other:" "$T_DIR/uzswapd.log" ||
		t_fail "uid 65533's bad client was not logged after uid 65534's flood"
	wait_log "uid 65534's summary" 'uid 65534: [0-9]* more "dropping" lines not logged'
	echo "uid 65533 logged after uid 65534's flood of 200; 65534's summarised"

	# 70 users, 12 bad connections each, in one long period: the 64
	# users the table holds get 10 lines each, the 6 beyond share 10
	# (each beyond the 64th once got a fresh 10 every time: no limit),
	# and what was left out is said as the daemon stops
	kill "$DPID"
	wait "$DPID" 2>/dev/null
	: >"$T_DIR/uzswapd.log"
	UZSWAPD_TEST_WARN_PERIOD_S=600 t_daemon_start
	/usr/bin/python3 - "$SOCK" "$T_DIR/bad.py" <<'PY'
import os, sys
kids = []
for uid in range(70000, 70070):
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        os.execv("/usr/bin/python3", ["python3", sys.argv[2], sys.argv[1], "12"])
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
PY
	lines=$(grep -c "dropping connection" "$T_DIR/uzswapd.log")
	[ "$lines" -le 650 ] ||
		t_fail "70 users x 12 bad connections made $lines lines (64 x 10 + 10 at most)"
	kill "$DPID"
	wait "$DPID" 2>/dev/null
	grep -q 'other uids: [0-9]* more "dropping" lines not logged' "$T_DIR/uzswapd.log" ||
		t_fail "no summary for the other uids at exit"
	echo "70 users x 12 bad connections: $lines lines; the rest summarised at exit"
fi
