#!/bin/sh
# SPDX-License-Identifier: MIT
# Whom the agent trusts with a program's memory, and how long it waits:
# a server on the socket path run by another, unprivileged user gets no
# hello (no arena) from a root program, nor from one of a third user;
# one run by the program's own user does; and a daemon that stops
# accepting (its backlog full) delays a starting program by seconds at
# most, which then runs without the agent.
. "${top_srcdir:-.}/tests/daemon_lib.sh"
command -v setpriv >/dev/null || { echo "SKIP: no setpriv"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (runs servers as other users)"; exit 77; }
agent="$top_builddir/.libs/libuzswap.so"
# the system's: another user may not reach a python3 under root's home
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
chmod 1777 "$T_DIR" # the fake servers, as other users, bind there
FAKE=$T_DIR/fake.sock

# fake_server UID: listen on $FAKE as UID; write to $T_DIR/got what the
# first client sent within 3 s: "hello N fds", or "nothing"
fake_server() {
	rm -f "$FAKE" "$T_DIR/got" "$T_DIR/listening"
	setpriv --reuid="$1" --regid="$1" --clear-groups "$PY" - "$FAKE" "$T_DIR" <<'PY' &
import array, os, socket, sys
path, d = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
os.chmod(path, 0o777)
s.listen(8)
open(os.path.join(d, "listening"), "w").close()
s.settimeout(10)
got = "nothing"
try:
    c, _ = s.accept()
    c.settimeout(3)
    fds = array.array("i")
    msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
    n = sum(len(data) // 4 for lvl, typ, data in anc if typ == socket.SCM_RIGHTS)
    got = "hello %d fds" % n if msg else "nothing"
except OSError:
    pass
open(os.path.join(d, "got"), "w").write(got + "\n")
PY
	T_PIDS="$T_PIDS $!"
	t_wait_file "the fake server" -e "$T_DIR/listening"
}

# run_as UID: a program under the agent, told to use $FAKE; it must run
run_as() {
	out=$(UZSWAP_SOCKET=$FAKE setpriv --reuid="$1" --regid="$1" --clear-groups \
		env LD_PRELOAD="$agent" sh -c 'echo alive' 2>"$T_DIR/agent.err") ||
		t_fail "a program of uid $1 failed under the agent: $(cat "$T_DIR/agent.err")"
	[ "$out" = alive ] || t_fail "a program of uid $1 printed '$out'"
}

got() {
	t_wait_file "the fake server's word" -s "$T_DIR/got"
	cat "$T_DIR/got"
}

fake_server 65534
run_as 0
g=$(got)
[ "$g" = nothing ] || t_fail "a root program sent uid 65534's server: $g"
grep -q "served by uid 65534" "$T_DIR/agent.err" ||
	t_fail "no word of the refusal: $(cat "$T_DIR/agent.err")"
echo "root program, server of uid 65534: refused, nothing sent"

fake_server 65533
run_as 65534
g=$(got)
[ "$g" = nothing ] || t_fail "a program of uid 65534 sent uid 65533's server: $g"
echo "program of uid 65534, server of uid 65533: refused, nothing sent"

fake_server 65534
run_as 65534
g=$(got)
[ "$g" = "hello 1 fds" ] || t_fail "a program of uid 65534 did not use its own user's server: $g"
echo "program of uid 65534, server of its own uid: used"

# a daemon that does not accept: stopped, its backlog filled
t_daemon_start
kill -STOP "$DPID"
python3 - "$SOCK" "$T_DIR" <<'PY' &
import os, socket, sys, time
held = []
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except BlockingIOError:
        break
    held.append(s)
open(os.path.join(sys.argv[2], "full"), "w").write("%d\n" % len(held))
time.sleep(60)
PY
T_PIDS="$T_PIDS $!"
t_wait_file "the backlog to fill" -s "$T_DIR/full"
t0=$(date +%s)
out=$(timeout 30 env LD_PRELOAD="$agent" sh -c 'echo alive') ||
	t_fail "a program under the agent did not finish with uzswapd stopped"
t1=$(date +%s)
kill -CONT "$DPID"
[ "$out" = alive ] || t_fail "printed '$out'"
[ $((t1 - t0)) -le 10 ] || t_fail "start-up took $((t1 - t0)) s with uzswapd stopped"
echo "uzswapd stopped, backlog full ($(cat "$T_DIR/full") held): the program ran in $((t1 - t0)) s"
