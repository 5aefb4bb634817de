#!/bin/bash
# SPDX-License-Identifier: MIT
# cgroup_limit with a real program (issue 11): GNU sort of a text file
# with a buffer larger than its memory cgroup's limit (`sort -S`), so
# that it needs more memory than the cgroup allows: with no swap at all,
# under uzswap with automatic eviction (auto=on, the defaults: steps
# ahead of the limit, the job held while they run) and no kernel swap,
# with zram as the kernel's swap under the same limit (its pool is
# charged to no cgroup on v1), and with zswap in front of a swap file
# (its pool is charged to the job's cgroup, as uzswap's is); round after
# round, the four in turn.  Each run's output must be the same as that
# of a run outside any cgroup (md5).  Prints the wall time per system,
# median [min..max], and how many runs the OOM killer ended.
# A report: exit 0 whatever the times, 1 on a wrong output, 77 when zram
# or the cgroup v1 memory controller cannot be used, 99 when a run broke;
# without zswap (or a swap file on /var/tmp) its runs are left out, and
# said so.
#
#   tests/bench/cglimit_sort.sh [--rounds N] [--lines N] [--limit MIB]
#                               [--buffer MIB] [--cap SECONDS]
#
# A run still going after --cap seconds (900) is ended and counted as
# unfinished: a system that thrashes does not hold the others up.
#
# The input (--lines lines of about 51 bytes: 15 million, 770 MB, by
# default) is made once in $SORT_INPUT_DIR (/var/tmp) and kept; sort
# holds it all in memory with its line records, about 1.6 times the
# file, in a cgroup of --limit MIB (1024).  Needs root, and the built
# uzswapd and .libs/libuzswap.so; changes only a zram device of its own,
# zswap's parameters and a swap file of its own (during zswap's runs), a
# cgroup of its own and a private uzswapd, all undone on exit.
set -u

ROUNDS=2 LINES=15000000 LIMIT_MIB=1024 BUFFER_MIB=2048 CAP=900
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:-}; shift ;;
	--lines) LINES=${2:-}; shift ;;
	--limit) LIMIT_MIB=${2:-}; shift ;;
	--buffer) BUFFER_MIB=${2:-}; shift ;;
	--cap) CAP=${2:-}; shift ;;
	*) echo "usage: $0 [--rounds N] [--lines N] [--limit MIB] [--buffer MIB] [--cap SECONDS]" >&2; exit 2 ;;
	esac
	shift
done
for v in "$ROUNDS" "$LINES" "$LIMIT_MIB" "$BUFFER_MIB" "$CAP"; do
	case $v in '' | *[!0-9]* | 0) echo "cglimit_sort.sh: whole numbers above 0" >&2; exit 2 ;; esac
done

SRCDIR=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$SRCDIR/../.." && pwd)}
UZSWAPD=$top/uzswapd AGENT=$top/.libs/libuzswap.so
. "$SRCDIR/zram.sh"
. "$SRCDIR/zswap.sh"
. "$SRCDIR/auto_daemon.sh"
say() { echo "cglimit_sort.sh: $*" >&2; }
for f in "$UZSWAPD" "$AGENT"; do
	[ -e "$f" ] || { say "no $f: run make"; exit 99; }
done
[ "$(id -u)" = 0 ] || { say "SKIP: needs root (zram, cgroups)"; exit 77; }
MEMCG=/sys/fs/cgroup/memory
[ -w "$MEMCG/cgroup.procs" ] ||
	{ say "SKIP: needs the cgroup v1 memory controller at $MEMCG"; exit 77; }
command -v sort >/dev/null && command -v md5sum >/dev/null ||
	{ say "SKIP: needs sort and md5sum (coreutils)"; exit 77; }

INPUT_DIR=${SORT_INPUT_DIR:-/var/tmp}
INPUT=$INPUT_DIR/uzswap-sort-$LINES.txt
auto_bench_dir sort

if [ ! -s "$INPUT" ]; then
	say "making $INPUT ($LINES lines), once"
	awk -v n="$LINES" 'BEGIN { srand(7); for (i = 0; i < n; i++)
		printf "%09d key-%06d %s value-%d\n", int(rand() * 1e9),
		       int(rand() * 1e6), i % 3 ? "alpha-beta-gamma" : "delta-epsilon", i }' \
		>"$INPUT.part" && mv "$INPUT.part" "$INPUT" || { say "cannot write $INPUT"; exit 99; }
fi
# -T: sort's temporary files (none with the buffer this large) off tmpfs
SORT="sort -S ${BUFFER_MIB}M --parallel=1 -T $INPUT_DIR $INPUT"
REF=$(LC_ALL=C $SORT | md5sum) || { say "the reference sort failed"; exit 99; }

auto_daemon_start

OUT=${SORT_OUT:-$top/results/sort-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || { say "cannot make $OUT"; exit 99; }

# run SYSTEM ROUND: one sort in a cgroup of its own; "SYSTEM SECONDS"
# or "SYSTEM killed" to $OUT/runs
run() {
	local s=$1 r=$2 rc load t0 t1 cap pre=
	load=$(cut -d' ' -f1 /proc/loadavg)
	say "round $r: $s (load $load)"
	CG=$MEMCG/uzswap-sort-$$-$s-$r
	mkdir "$CG" && echo $((LIMIT_MIB << 20)) >"$CG/memory.limit_in_bytes" ||
		{ say "cannot make $CG"; exit 99; }
	case $s in
	zram) zram_setup $((2 * BUFFER_MIB << 20)) || { say "SKIP: zram: $ZRAM_WHY"; exit 77; } ;;
	zswap)
		if ! zswap_setup $((2 * BUFFER_MIB << 20)) || ! zswap_on; then
			say "zswap left out: $ZSWAP_WHY"
			zswap_teardown
			rmdir "$CG"
			CG=
			return
		fi ;;
	uzswap) pre="env LD_PRELOAD=$AGENT UZSWAP_SOCKET=$DIR/sock" ;;
	esac
	t0=$(date +%s.%N)
	LC_ALL=C $pre "$SRCDIR/in-cgroup.sh" "$CG" $SORT >"$DIR/out" &
	CHILD=$!
	rm -f "$DIR/capped"
	( sleep "$CAP" && touch "$DIR/capped" && kill -KILL "$CHILD" ) 2>/dev/null &
	cap=$!
	wait "$CHILD"
	rc=$?
	t1=$(date +%s.%N)
	pkill -P "$cap" sleep 2>/dev/null
	wait "$cap" 2>/dev/null
	CHILD=
	[ "$s" = zram ] && zram_teardown
	[ "$s" = zswap ] && zswap_teardown
	rmdir "$CG" 2>/dev/null
	CG=
	if [ -e "$DIR/capped" ]; then
		say "$s round $r: still going after $CAP s: ended, unfinished"
		echo "$s unfinished $load" >>"$OUT/runs"
		return
	fi
	if [ $rc = 137 ]; then
		say "$s round $r: killed (the OOM killer, in a $LIMIT_MIB MiB cgroup)"
		echo "$s killed $load" >>"$OUT/runs"
		return
	fi
	[ $rc = 0 ] || { say "$s round $r failed ($rc)"; exit 99; }
	[ "$(md5sum <"$DIR/out")" = "$REF" ] ||
		{ say "INTEGRITY: $s round $r sorted to other bytes"; exit 1; }
	awk -v a="$t0" -v b="$t1" -v s="$s" -v l="$load" 'BEGIN { printf "%s %.2f %s\n", s, b - a, l }' >>"$OUT/runs"
}

start=$(date -u '+%Y-%m-%d %H:%M UTC')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
	for s in none uzswap zram zswap; do
		run "$s" "$r"
	done
done

awk -v start="$start" -v load0="$load0" -v load1="$(cut -d' ' -f1-3 /proc/loadavg)" -v cap="$CAP" \
    -v limit="$LIMIT_MIB" -v buffer="$BUFFER_MIB" -v input="$(stat -L -c %s "$INPUT")" '
{ if ($2 == "killed") killed[$1]++; else if ($2 == "unfinished") capped[$1]++; else t[$1, ++n[$1]] = $2; runs[$1]++ }
function med(s,   i, j, k, v, x) {
	k = n[s]
	for (i = 1; i <= k; i++) v[i] = t[s, i]
	for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) {
		x = v[j]; v[j] = v[j-1]; v[j-1] = x }
	return sprintf("%.1f [%.1f..%.1f]", k % 2 ? v[(k+1)/2] : (v[k/2] + v[k/2+1]) / 2, v[1], v[k])
}
END {
	printf "cgroup_limit (sort -S %d MiB of a %d MB file, %d MiB cgroup): %s; load average %s at the start, %s at the end\n\n",
		buffer, input / 1e6, limit, start, load0, load1
	printf "| system | finished | OOM-killed | unfinished at %d s | seconds |\n|---|---|---|---|---|\n", cap
	split("none uzswap zram zswap", order, " ")
	for (o = 1; o <= 4; o++) {
		s = order[o]
		if (!runs[s])
			continue
		printf "| %s | %d of %d | %d | %d | %s |\n", s, n[s], runs[s], killed[s], capped[s], n[s] ? med(s) : "-"
	}
}' "$OUT/runs" | tee "$OUT/table.md"
cp "$DIR/uzswapd.log" "$OUT/"
echo "runs, table and uzswapd's log in $OUT"
