#!/bin/bash
# SPDX-License-Identifier: MIT
# allow=unit: must not be fooled by a cgroup path longer than a read
# buffer.  uzswapd once read /proc/PID/cgroup with fgets(4096): a longer
# line came in two pieces, the second read as a line of its own.  A user
# with a delegated name=systemd (v1) subtree made cgroup names so that
# the tail of its line read "::/init.scope" (no controllers: cgroup2,
# root's init.scope) and was let in.  Kept from the review that found
# it (2026-12-02); skips without root or the two hierarchies.
set -u
B=${top_builddir:-.}
UZD=$B/uzswapd; UZCTL=$B/uzswapctl
V2=/sys/fs/cgroup/unified; V1=/sys/fs/cgroup/systemd
UNIT=init.scope
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -w "$V2/cgroup.procs" ] && [ -w "$V1/cgroup.procs" ] ||
	{ echo "SKIP: needs cgroup2 at $V2 and v1 name=systemd at $V1"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv"; exit 77; }
T=$(mktemp -d /tmp/uztest-unit.XXXXXX); chmod 755 $T
SOCK=$T/s.sock; export UZSWAP_SOCKET=$SOCK
DELEG=$V1/uztest-deleg-$$
made_unit=0
cleanup() {
	[ -n "${DPID:-}" ] && kill $DPID 2>/dev/null; wait 2>/dev/null
	/usr/bin/python3 - "$DELEG" <<'PY'
import os, sys
def rm(d):
    os.chdir(d)
    for e in os.listdir('.'):
        if os.path.isdir(e): rm(e)
    os.chdir('..'); os.rmdir(d)
if os.path.isdir(sys.argv[1]):
    os.chdir(os.path.dirname(sys.argv[1])); rm(os.path.basename(sys.argv[1]))
PY
	[ $made_unit = 1 ] && rmdir "$V2/$UNIT"
	rm -rf "$T"
}
trap cleanup EXIT
# a copy uid 65534 may load: the build tree may be under /root, and a
# preload it cannot read is skipped (the refusals checked below would
# then hold without the agent)
AGENT=$T/libuzswap.so
cp "$B/.libs/libuzswap.so" "$AGENT" && chmod 755 "$AGENT" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$AGENT" ||
	{ echo "FAIL: uid 65534 cannot read the agent at $AGENT"; exit 1; }
# a sanitizer run's runtime comes first (scripts/check-sanitize.sh): a
# TSan-built agent preloaded alone left the program spinning in TSan's
# start-up.  The program counts its threads: python3, as dash dies of
# TSan's runtime preloaded into it.
PRELOAD=${UZ_TEST_PRELOAD_FIRST:+$UZ_TEST_PRELOAD_FIRST:}$AGENT
[ -d "$V2/$UNIT" ] || { mkdir "$V2/$UNIT" && made_unit=1; }   # root's unit at the v2 root
mkdir "$DELEG" && chown 65534 "$DELEG"                         # delegated to uid 65534
printf '[daemon]\nauto=off\nallow=unit:%s\n' "$UNIT" > $T/conf
$UZD --socket $SOCK --config $T/conf 2>>$T/log & DPID=$!
for i in $(seq 50); do $UZCTL status >/dev/null 2>&1 && break; sleep 0.1; done

# run_in DIR...: uid 65534 program under the agent, moved (by root, as the
# login would) into the v1 name=systemd cgroup made of the components
run_in() {
	/usr/bin/python3 - "$PRELOAD" "$@" <<'PY' 2>>$T/agent.err
import os, sys
agent, comps = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.dup2(w, 1)
    for c in comps: os.chdir(c)
    open("cgroup.procs", "w").write(str(os.getpid()))
    line = [l for l in open("/proc/self/cgroup").read().split("\n") if "name=systemd" in l][0]
    sys.stderr.write("line length %d, tail from byte 4095: %r\n" % (len(line), line[4095:]))
    os.chdir("/")
    os.execvp("setpriv", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "env", "LD_PRELOAD=" + agent, "/usr/bin/python3", "-c",
        "import os; print(len(os.listdir('/proc/self/task')))"])
os.close(w); out = os.read(r, 100).decode().strip(); os.waitpid(pid, 0)
# back to the root cgroup so cleanup can rmdir
print(out)
PY
}
n=$(run_in $DELEG)
[ "$n" = 1 ] || { echo "FAIL: control: uid 65534 in its own cgroup let in (threads $n)"; exit 1; }
# refused, not absent: the agent was loaded and said so
refused() { [ "$(grep -c 'uzswapd refused us' $T/agent.err)" = "$1" ] ||
	{ echo "FAIL: the agent did not say it was refused (run $1):"; cat $T/agent.err; exit 1; }; }
refused 1
# uid 65534 makes the chain (it owns $DELEG)
comps=$(/usr/bin/python3 - "${DELEG#$V1/}" <<'PY'
import sys
hid = [l.split(":")[0] for l in open("/proc/self/cgroup") if ":name=systemd:" in l][0]
prefix = len(hid + ":name=systemd:/" + sys.argv[1])
comps, cur = [], prefix
while True:
    room = 4095 - (cur + 1)
    if room + 2 <= 255:
        comps.append("A" * room + "::"); break
    comps.append("B" * 200); cur += 201
comps.append("init.scope")
print(" ".join(comps))
PY
)
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - $DELEG $comps <<'PY' || { echo "FAIL: uid 65534 cannot make its cgroups"; exit 1; }
import os, sys
os.chdir(sys.argv[1])
for c in sys.argv[2:]:
    os.mkdir(c); os.chdir(c)
PY
n=$(run_in $DELEG $comps)
if [ "$n" != 1 ]; then
	echo "FAIL: a cgroup path whose tail reads ::/$UNIT passed for the unit (threads $n)"
	cat $T/log $T/agent.err
	exit 1
fi
refused 2
echo "a cgroup path over 4 KB whose tail reads ::/$UNIT: refused"
exit 0
