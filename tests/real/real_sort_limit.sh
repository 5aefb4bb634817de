#!/bin/bash
# SPDX-License-Identifier: MIT
# sort(1) in a memory cgroup far smaller than what it fills, with
# automatic eviction on and no kernel swap: it must not be OOM-killed.
# Its input is not in the page cache, so what it reads is charged to its
# cgroup too and the kernel drops that first: each held limit step left
# the job in the room under the limit, where no usage threshold is
# crossed again, and the daemon looked again only a quarter interval
# after the step began; sort, reading at disk speed, was OOM-killed in
# its first second every time (a 100 MB file in 128 MB, 2026-12-05).
# It thrashes after its input phase (README "Limits"), so it is given
# CAP seconds: finished with the right output, or still going then.
# Root and the cgroup v1 memory controller.
. "$(dirname "$0")/lib.sh"
CAP=8 LIMIT_MB=64
command -v sort >/dev/null || uz_skip "no sort"
V1=/sys/fs/cgroup/memory
[ "$(id -u)" = 0 ] || uz_skip "not root: no memory cgroup of its own"
[ -w "$V1/cgroup.procs" ] || uz_skip "no cgroup v1 memory controller at $V1"
CG=$V1/uzswap-real-sortlimit-$$
cg_gone() {
	[ -d "$CG" ] || return 0
	for _ in $(seq 50); do
		xargs -r kill -KILL <"$CG/cgroup.procs" 2>/dev/null
		rmdir "$CG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "could not remove $CG" >&2
}
trap 'cg_gone; uz_cleanup' EXIT

uz_start_daemon '[daemon]\nauto=on\n'

in="$UZ_DIR/in"
uz_sort_input "$in" 1000000 11
[ -d /var/tmp ] && tmp=/var/tmp || tmp=$UZ_DIR
mkdir "$CG" && echo $((LIMIT_MB << 20)) >"$CG/memory.limit_in_bytes" ||
	uz_fail "cannot make $CG"
(
	echo "$BASHPID" >"$CG/cgroup.procs" &&
		LD_PRELOAD="$(uz_preload)" LC_ALL=C exec sort -S 256M --parallel=1 \
			-T "$tmp" "$in" >"$UZ_DIR/got"
) &
pid=$!
for _ in $(seq $((CAP * 10))); do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
capped=0
if kill -0 $pid 2>/dev/null; then
	capped=1
	kill -KILL $pid
fi
wait $pid 2>/dev/null
rc=$?
kills=$(awk '$1 == "oom_kill" {print $2}' "$CG/memory.oom_control")
[ "${kills:-0}" = 0 ] ||
	uz_fail "sort was OOM-killed in its $LIMIT_MB MB cgroup ($kills kill(s); exit $rc)"
if [ $capped = 1 ]; then
	echo "sort: not OOM-killed in a $LIMIT_MB MB cgroup in $CAP s (still going, ended)"
	exit 0
fi
[ $rc = 0 ] || uz_fail "sort failed (exit $rc)"
LC_ALL=C sort -S 256M --parallel=1 "$in" | cmp -s - "$UZ_DIR/got" ||
	uz_fail "sort output differs under the agent"
echo "sort: finished in a $LIMIT_MB MB cgroup, output identical"
