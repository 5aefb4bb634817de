#!/bin/bash
# SPDX-License-Identifier: MIT
# Programs that drop privileges keep working under the agent: setpriv,
# runuser and su keep capabilities across the uid change on their own
# thread (PR_SET_KEEPCAPS, capset) before setresgid(); glibc aborts the
# process when another thread (the agent's) disagrees.  Each runs 20
# times (the agent's threads may still be starting); every run must end
# as the same command does without the agent.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || uz_skip "dropping privileges needs root"
id nobody >/dev/null 2>&1 || uz_skip "no user nobody"
# make check-tsan: ThreadSanitizer's own thread (started with the agent's)
# keeps the capabilities that setpriv drops on its thread and ours only,
# and glibc's setresgid() aborts when the threads disagree
case ${UZ_TEST_PRELOAD_FIRST:-} in
*libtsan*) uz_skip "ThreadSanitizer's own thread: per-thread credentials differ" ;;
esac
uz_start_daemon
# the agent where uid 65534 can load it after the drop (the build tree
# may be in a directory it cannot enter, such as /root)
cp "$UZ_AGENT" "$UZ_DIR/libuzswap.so"
chmod 755 "$UZ_DIR/libuzswap.so"
UZ_AGENT=$UZ_DIR/libuzswap.so

out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups id 2>&1) ||
	uz_skip "setpriv does not work here: $out"
n=0
for i in $(seq 20); do
	for cmd in "setpriv --reuid=nobody --regid=nogroup --clear-groups id" \
		   "setpriv --reuid=nobody --regid=nogroup --init-groups --inh-caps=-all id" \
		   "runuser -u nobody -- id" \
		   "su -s /bin/sh nobody -c id"; do
		want=$($cmd 2>&1)
		got=$(LD_PRELOAD="$(uz_preload)" $cmd 2>&1) ||
			uz_fail "run $i: '$cmd' failed under the agent: $got"
		[ "$got" = "$want" ] ||
			uz_fail "run $i: '$cmd' printed '$got', not '$want'"
		n=$((n + 1))
	done
done
echo "privilege drops: $n runs under the agent, all as without it"
