#!/bin/bash
# SPDX-License-Identifier: MIT
# cgroup_limit's fill, many times (issue 11): bench_zipf fills 2 GiB at
# GB/s in a cgroup v1 memory cgroup limited to 1 GiB, then runs a few
# seconds; under uzswap (auto=on, the defaults, no kernel swap) and
# under zram as the kernel's swap with the same limit, each ROUNDS times
# in a row.  Counts the runs the OOM killer ended and those whose job met
# the limit at all (memory.failcnt above 0): a race between a job and
# the steps that take its memory shows in a fraction of runs, which the
# minute-long runs of `make bench-cglimit` are too few to tell.  A
# report: exit 0 whatever the counts, 1 on a wrong byte, 77 when zram or
# the v1 memory controller cannot be used, 99 when a run broke.
#
#   tests/bench/cglimit_fill.sh [--rounds N] [--seconds S] [--size MIB]
#                               [--limit MIB] [--uzswap-only]
#
# --uzswap-only: no zram runs, and no zram needed (the check in make
# check, tests/it/it_limitfill.sh).
# Defaults: 12 rounds of 3 s (after the fill), 2048 MiB in 1024 MiB.
# Needs root, the built uzswapd, .libs/libuzswap.so and
# tests/bench/bench_zipf; changes only a zram device of its own, its
# cgroups and a private uzswapd, all undone on exit.
set -u

ROUNDS=12 SECONDS_RUN=3 SIZE_MIB=2048 LIMIT_MIB=1024 SYSTEMS="uzswap zram"
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:-}; shift ;;
	--seconds) SECONDS_RUN=${2:-}; shift ;;
	--size) SIZE_MIB=${2:-}; shift ;;
	--limit) LIMIT_MIB=${2:-}; shift ;;
	--uzswap-only) SYSTEMS=uzswap; shift; continue ;;
	*) echo "usage: $0 [--rounds N] [--seconds S] [--size MIB] [--limit MIB] [--uzswap-only]" >&2; exit 2 ;;
	esac
	shift
done
for v in "$ROUNDS" "$SECONDS_RUN" "$SIZE_MIB" "$LIMIT_MIB"; do
	case $v in '' | *[!0-9]* | 0) echo "cglimit_fill.sh: whole numbers above 0" >&2; exit 2 ;; esac
done

SRCDIR=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$SRCDIR/../.." && pwd)}
ZIPF=$top/tests/bench/bench_zipf UZSWAPD=$top/uzswapd AGENT=$top/.libs/libuzswap.so
. "$SRCDIR/zram.sh"
. "$SRCDIR/auto_daemon.sh"
say() { echo "cglimit_fill.sh: $*" >&2; }
for f in "$ZIPF" "$UZSWAPD" "$AGENT"; do
	[ -e "$f" ] || { say "no $f: run make (and make tests/bench/bench_zipf)"; exit 99; }
done
[ "$(id -u)" = 0 ] || { say "SKIP: needs root (zram, cgroups)"; exit 77; }
MEMCG=/sys/fs/cgroup/memory
[ -w "$MEMCG/cgroup.procs" ] || { say "SKIP: no cgroup v1 memory controller at $MEMCG"; exit 77; }
auto_bench_dir cglimit-fill
auto_daemon_start

declare -A killed met
killed[uzswap]=0 killed[zram]=0 met[uzswap]=0 met[zram]=0
load0=$(cut -d' ' -f1-3 /proc/loadavg) start=$(date -u '+%Y-%m-%d %H:%M UTC')
# each system's runs back to back, as a job started again at once would
# be (between zram's runs, the race showed in none of 12)
for s in $SYSTEMS; do
	for r in $(seq "$ROUNDS"); do
		CG=$MEMCG/uzswap-fill-$$-$s-$r
		mkdir "$CG" && echo $((LIMIT_MIB << 20)) >"$CG/memory.limit_in_bytes" ||
			{ say "cannot make $CG"; exit 99; }
		if [ $s = zram ]; then
			zram_setup $((2 * SIZE_MIB << 20)) || { say "SKIP: zram: $ZRAM_WHY"; exit 77; }
			"$SRCDIR/in-cgroup.sh" "$CG" "$ZIPF" "$SECONDS_RUN" "$SIZE_MIB" >/dev/null &
		else
			env LD_PRELOAD="$AGENT" UZSWAP_SOCKET="$DIR/sock" \
				"$SRCDIR/in-cgroup.sh" "$CG" "$ZIPF" "$SECONDS_RUN" "$SIZE_MIB" >/dev/null &
		fi
		CHILD=$!
		wait "$CHILD"
		rc=$?
		CHILD=
		[ "$(cat "$CG/memory.failcnt")" -gt 0 ] && met[$s]=$((met[$s] + 1))
		[ $s = zram ] && zram_teardown
		rmdir "$CG" 2>/dev/null
		CG=
		case $rc in
		0) ;;
		137) killed[$s]=$((killed[$s] + 1)) ;;
		1) say "INTEGRITY: $s round $r read wrong bytes"; exit 1 ;;
		*) say "$s round $r failed ($rc)"; exit 99 ;;
		esac
		say "round $r: $s exit $rc (load $(cut -d' ' -f1 /proc/loadavg))"
	done
done
echo "cglimit_fill ($SIZE_MIB MiB filled in a $LIMIT_MIB MiB cgroup, $ROUNDS rounds of $SECONDS_RUN s): $start; load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| system | OOM-killed | met the limit (failcnt > 0) |"
echo "|---|---|---|"
for s in $SYSTEMS; do
	echo "| $s | ${killed[$s]} of $ROUNDS | ${met[$s]} of $ROUNDS |"
done
