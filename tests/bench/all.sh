#!/bin/bash
# SPDX-License-Identifier: MIT
# `make bench`: every benchmark, each side by side with the kernel's
# compressed swap in the same run, into one results folder:
#   matrix/        bench.sh: the fault-path workloads (seq_1g, the locality
#                  matrix, ...) against zram and zswap, each also with a
#                  busy loop on every CPU (--contended), and seq_1g at 4
#                  and 8 GiB (--sizes), about 30 minutes
#   zipf_2g/       zipf.sh: automatic eviction, no swap / uzswap / zram
#   cgroup_limit/  zipf.sh --limit 1024: the same in a 1 GiB cgroup
#   cgroup_sort/   cglimit_sort.sh: GNU sort over the same limit
#   phase_shift/   zipf.sh --phase 30 --seconds 120: the hot set moves
# About 70 minutes with the defaults (the sum of the parts' own times).
# Each part's tables are printed again at the end, under one heading
# each.  A report, not a test: exit 1 when
# a part read wrong bytes, 99 when one broke, else 0 (a part that cannot
# run here, exit 77, says so and the rest go on).
#   tests/bench/all.sh [--quick] [--rounds N] [--only PARTS] [--out DIR]
# --quick: small sizes, short runs, one round (about 5 minutes): a smoke
# run of the whole thing, not a measurement.
set -u

ALL_PARTS="matrix zipf_2g cgroup_limit cgroup_sort phase_shift"
ROUNDS= PARTS=$ALL_PARTS OUT= QUICK=
usage() {
	echo "usage: $0 [--quick] [--rounds N] [--only PARTS] [--out DIR]" >&2
	echo "  PARTS: comma-separated, of $(echo $ALL_PARTS | tr ' ' ,)" >&2
	echo "  --rounds N: rounds of each part (default: each part's own)" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=${2:-}; shift ;;
	--only) PARTS=$(echo "${2:-}" | tr , ' '); shift ;;
	--out) OUT=${2:-}; shift ;;
	*) usage ;;
	esac
	shift
done
[ -n "$QUICK" ] && ROUNDS=${ROUNDS:-1}
case ${ROUNDS:-1} in '' | *[!0-9]* | 0) usage ;; esac
[ -n "$PARTS" ] || usage
for p in $PARTS; do
	case " $ALL_PARTS " in *" $p "*) ;; *) usage ;; esac
done

SRCDIR=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$SRCDIR/../.." && pwd)}
export top_builddir=$top
OUT=${OUT:-$top/results/all-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || { echo "all.sh: cannot make $OUT" >&2; exit 99; }
OUT=$(cd "$OUT" && pwd)
say() { echo "all.sh: $*" >&2; }

# part NAME: run it, its output to $OUT/NAME.log and the terminal, its
# exit status to $OUT/NAME.rc
part() {
	local name=$1 rounds=${ROUNDS:+--rounds $ROUNDS} rc
	# --quick: a quarter of the sizes and limits, the shortest runs
	local matrix="--contended --sizes" zipf= limit=1024 sort= phase="--phase 30 --seconds 120"
	if [ -n "$QUICK" ]; then
		matrix=--quick zipf="--seconds 31 --size 256" limit=128
		sort="--lines 2000000 --limit 256 --buffer 256 --cap 120"
		phase="--phase 15 --seconds 31"
	fi
	say "$name: started $(date -u '+%H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	case $name in
	matrix) bash "$SRCDIR/bench.sh" $matrix $rounds --out "$OUT/matrix" ;;
	zipf_2g) ZIPF_OUT=$OUT/zipf_2g bash "$SRCDIR/zipf.sh" $zipf $rounds ;;
	cgroup_limit) ZIPF_OUT=$OUT/cgroup_limit bash "$SRCDIR/zipf.sh" \
		$zipf --limit $limit $rounds ;;
	cgroup_sort) SORT_OUT=$OUT/cgroup_sort bash "$SRCDIR/cglimit_sort.sh" $sort $rounds ;;
	phase_shift) ZIPF_OUT=$OUT/phase_shift bash "$SRCDIR/zipf.sh" \
		${zipf:+--size 256} $phase $rounds ;;
	esac 2>&1 | tee "$OUT/$name.log"
	rc=${PIPESTATUS[0]}
	echo "$rc" >"$OUT/$name.rc"
	say "$name: ended $(date -u '+%H:%M UTC'), exit $rc"
}

trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM
for p in $PARTS; do
	part "$p"
done

# Every part's tables in one place
worst=0
echo
echo "=== all benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), results in $OUT"
for p in $PARTS; do
	rc=$(cat "$OUT/$p.rc")
	echo
	echo "=== $p (exit $rc)"
	case $rc in
	0) ;;
	77) echo "could not run here: $(grep -m1 -i 'skip' "$OUT/$p.log")"; continue ;;
	1) worst=1 ;;
	*) [ $worst = 1 ] || worst=99 ;;
	esac
	table=$OUT/$p/table.md
	[ "$p" = matrix ] && table=$OUT/matrix/table.txt
	if [ -f "$table" ]; then
		cat "$table"
	else
		echo "(no table: see $OUT/$p.log)"
	fi
done
exit $worst
