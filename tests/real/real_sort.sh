#!/bin/bash
# SPDX-License-Identifier: MIT
# sort(1) with a large -S buffer keeps producing identical output when
# its memory is evicted while it runs.
. "$(dirname "$0")/lib.sh"
command -v sort >/dev/null || uz_skip "no sort"
uz_start_daemon

in="$UZ_DIR/in"
uz_sort_input "$in" 3000000 7
LC_ALL=C sort -S 1G --parallel=1 "$in" >"$UZ_DIR/want"

# the FIFO holds sort back after it has read all input and before it
# writes: that is when its buffer is full and we evict it
mkfifo "$UZ_DIR/fifo"
LD_PRELOAD="$(uz_preload)" LC_ALL=C sort -S 1G --parallel=1 "$UZ_DIR/fifo" >"$UZ_DIR/got" &
pid=$!
exec 3>"$UZ_DIR/fifo"
head -c $(( $(stat -c %s "$in") / 2 )) "$in" >&3
sleep 0.5
uz_evict $pid
tail -c +$(( $(stat -c %s "$in") / 2 + 1 )) "$in" >&3
sleep 0.5
uz_evict $pid
exec 3>&-
wait $pid || uz_fail "sort under the agent failed"
cmp -s "$UZ_DIR/want" "$UZ_DIR/got" || uz_fail "sort output differs under the agent"
echo "sort: $(wc -l <"$UZ_DIR/got") lines identical with its memory evicted twice"
