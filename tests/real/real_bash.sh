#!/bin/bash
# SPDX-License-Identifier: MIT
# bash, which forks for every pipeline and juggles its file descriptors,
# builds a large array, is evicted, then forks children that read the
# evicted memory: the output is the same as without the agent.
. "$(dirname "$0")/lib.sh"
# A sanitizer run (scripts/check-sanitize.sh): bash's heap is ASan's,
# and this test evicts it; each forked child then starts the agent's
# threads, and ASan's start of a thread allocates and frees on that heap
# before the thread can serve a fault: the child waits on itself.
[ -n "${UZ_TEST_PRELOAD_FIRST:-}" ] &&
	uz_skip "under a sanitizer (ASan, TSan), a forked child's agent threads fault on the evicted heap as they start (the runtime allocates in every thread's start)"
uz_start_daemon

cat >"$UZ_DIR/work.sh" <<'SH'
declare -a rows
for ((i = 0; i < 300000; i++)); do rows[i]="row $i $((i * 7919 % 100003))"; done
exec 5>&1 6<&0 7>/dev/null          # fd juggling as shells do
echo built
read -r _ <&6
# every pipeline forks: the children read the evicted array
printf '%s\n' "${rows[@]}" | md5sum
sum=$( (for ((i = 0; i < 300000; i += 1000)); do echo "${rows[i]}"; done) | md5sum)
echo "$sum"
exec 5>&- 6<&- 7>&-
SH
want=$(echo | bash "$UZ_DIR/work.sh" | tail -n 2)

coproc SH { LD_PRELOAD="$(uz_preload)" exec bash "$UZ_DIR/work.sh"; }
pid=$SH_PID
read -r line <&"${SH[0]}" || uz_fail "bash died"
[ "$line" = built ] || uz_fail "unexpected: $line"
uz_evict_some $pid bash
echo >&"${SH[1]}"
got=$(cat <&"${SH[0]}")
wait $pid || uz_fail "bash exited with an error"
[ "$got" = "$want" ] || uz_fail "output differs: $got vs $want"
echo "bash: identical output with $evicted bytes evicted, forking children after"
