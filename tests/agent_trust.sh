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
agent=$(t_agent_preload)
setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$T_DIR/libuzswap.so" ||
	t_fail "uid 65534 cannot read the agent at $T_DIR/libuzswap.so"
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

# --- a root program that drops to uid 65534 (as servers do) still trusts
# only root: uzswapd stops, uid 65534 binds its socket path, and the
# agent's reconnection sends it nothing (it got the arena before)
t_daemon_start
# $PY, not a pyenv shim: its bash scripts under the agent and
# ThreadSanitizer took 50 s to start, past t_wait_file's 15
LD_PRELOAD="$agent" "$PY" - "$T_DIR/dropped" <<'PY' &
import os, sys, time
secret = bytearray(b"ROOTSECRET" * (4 << 20))
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
open(sys.argv[1], "w").write("%d\n" % os.getpid())
time.sleep(30)
PY
T_PIDS="$T_PIDS $!"
t_wait_file "the program to drop root" -s "$T_DIR/dropped"
kill "$DPID"
wait "$DPID" 2>/dev/null
DPID=
FAKE=$SOCK
fake_server 65534
FAKE=$T_DIR/fake.sock
g=$(got)
[ "$g" = nothing ] || t_fail "a program that dropped root sent uid 65534's server: $g"
echo "root program dropped to uid 65534; uid 65534's server on the path: nothing sent"
kill "$(cat "$T_DIR/dropped")"

# --- who may opt in: root, those who could make a kernel-mode
# userfaultfd themselves (CAP_SYS_PTRACE), and allow= (by default the
# group uzswap); a refused program runs without the agent, one log line
# threads UID [CAPS]: the thread count of a program of UID under the agent
threads() {
	uid=$1
	shift
	UZSWAP_SOCKET=$SOCK setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@" \
		env LD_PRELOAD="$agent" sh -c 'set -- /proc/$$/task/*; echo $#' \
		2>"$T_DIR/agent.err" ||
		t_fail "a program of uid $uid failed under the agent"
}
daemon_with() {
	[ -n "${DPID:-}" ] && { kill "$DPID"; wait "$DPID" 2>/dev/null; }
	printf '[daemon]\nauto=off\n%s\n' "$1" >"$T_DIR/uzswapd.conf"
	t_daemon_start
}
daemon_with ""
[ "$(threads 0)" -gt 1 ] || t_fail "root was refused"
getent group uzswap >/dev/null || {
	[ "$(threads 65534)" = 1 ] || t_fail "uid 65534 opted in by default"
	[ "$(grep -c "may not opt in" "$T_DIR/agent.err")" = 1 ] ||
		t_fail "the refused program did not say so once: $(cat "$T_DIR/agent.err")"
	grep -q "uid 65534 may not opt in" "$T_DIR/uzswapd.log" ||
		t_fail "uzswapd did not log the refusal"
	echo "default: uid 65534 refused (runs without the agent, one line)"
}
[ "$(threads 65534 --inh-caps=+sys_ptrace --ambient-caps=+sys_ptrace)" -gt 1 ] ||
	t_fail "uid 65534 with CAP_SYS_PTRACE was refused"
echo "uid 65534 with CAP_SYS_PTRACE: allowed (it could make a userfaultfd itself)"
daemon_with "allow=user:65534"
[ "$(threads 65534)" -gt 1 ] || t_fail "allow=user:65534 refused uid 65534"
[ "$(threads 65533)" = 1 ] || t_fail "allow=user:65534 let uid 65533 in"
daemon_with "allow=group:65534"
[ "$(threads 65534)" -gt 1 ] || t_fail "allow=group:65534 refused gid 65534"
echo "allow=user:65534 and allow=group:65534: allowed; uid 65533 not"
# a systemd unit: a cgroup of that name (cgroup v2), removed after
CG=/sys/fs/cgroup/unified
if [ -w "$CG/cgroup.procs" ] && mkdir "$CG/uztest-$$.service" 2>/dev/null; then
	daemon_with "allow=unit:uztest-$$.service"
	n=$(UZSWAP_SOCKET=$SOCK sh -c 'echo $$ >"$1/cgroup.procs" && exec setpriv \
		--reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$2" \
		sh -c '"'"'set -- /proc/$$/task/*; echo $#'"'"'' sh "$CG/uztest-$$.service" "$agent")
	rmdir "$CG/uztest-$$.service"
	[ "$n" -gt 1 ] || t_fail "allow=unit: refused a process of that unit"
	[ "$(threads 65534)" = 1 ] || t_fail "allow=unit: let a process of no unit in"
	echo "allow=unit:NAME: a process in that unit's cgroup allowed, others not"
	# ... but not in a cgroup of that name a user made in a subtree
	# delegated to them (systemd-run --user --unit=NAME)
	if mkdir "$CG/uzdeleg-$$" 2>/dev/null; then
		chown 65534 "$CG/uzdeleg-$$"
		fake=$CG/uzdeleg-$$/uztest-$$.service
		setpriv --reuid=65534 --regid=65534 --clear-groups mkdir "$fake" ||
			t_fail "uid 65534 cannot make a cgroup in its delegated one"
		n=$(UZSWAP_SOCKET=$SOCK sh -c 'echo $$ >"$1/cgroup.procs" && exec setpriv \
			--reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$2" \
			sh -c '"'"'set -- /proc/$$/task/*; echo $#'"'"'' sh "$fake" "$agent")
		rmdir "$fake" "$CG/uzdeleg-$$"
		[ "$n" = 1 ] || t_fail "allow=unit: let in a process of a user-made cgroup of that name"
		echo "allow=unit:NAME: a user's own cgroup named NAME is not the unit"
	fi
fi
kill "$DPID"
wait "$DPID" 2>/dev/null
rm -f "$T_DIR/uzswapd.conf"

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
