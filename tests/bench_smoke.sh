#!/bin/bash
# SPDX-License-Identifier: MIT
# Smoke test of the benchmark suite: tests/bench/bench.sh --quick runs
# every workload on zram, zswap and uzswap (small sizes, one round) and
# its results.json must hold every cell.  The harness is tested, not the
# figures.  Exit 0 pass, 1 fail, 77 skip (not root, no zram/zswap/swapon).
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
BENCH_SH=$top_srcdir/tests/bench/bench.sh
PATH=$PATH:/sbin:/usr/sbin

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "zram, zswap and swapon need root"
command -v swapon >/dev/null && command -v mkswap >/dev/null ||
	skip "no swapon/mkswap (util-linux)"
[ -d /sys/class/zram-control ] || modprobe zram num_devices=0 2>/dev/null
[ -d /sys/class/zram-control ] || skip "no zram in this kernel"
[ -w /sys/module/zswap/parameters/enabled ] || skip "no zswap in this kernel"
for f in tests/bench/bench_run uzswapd uzswapctl .libs/libuzswap.so; do
	[ -e "$top_builddir/$f" ] || skip "$f is not built"
done
if command -v jq >/dev/null; then
	JSON=jq
elif command -v python3 >/dev/null; then
	JSON=python3
else
	skip "neither jq nor python3 to read results.json"
fi

# what the machine looks like before: it must look the same after
state() {
	grep -r . /sys/module/zswap/parameters/ 2>/dev/null
	ls -d /sys/block/zram* 2>/dev/null
	tail -n +2 /proc/swaps | awk '{ print $1 }'
}
STATE0=$(state)

OUT=$(mktemp -d "${TMPDIR:-/tmp}/uzswap-bench-smoke.XXXXXX") || exit 99
trap 'rm -rf "$OUT"' EXIT
# plots only when gnuplot is there: a test installs nothing
PLOTS=--no-plots
command -v gnuplot >/dev/null && PLOTS=

top_builddir=$top_builddir bash "$BENCH_SH" --quick --out "$OUT/results" $PLOTS
rc=$?
case $rc in
0) ;;
77) exit 77 ;; # bench.sh said why
1) trap - EXIT; fail "integrity error (results kept in $OUT)" ;;
*) trap - EXIT; fail "bench.sh --quick exited $rc (results kept in $OUT)" ;;
esac

R=$OUT/results/results.json
[ -s "$R" ] || fail "no $R"
WORKLOADS=$(awk -F'\t' '$1 == "workloads" { print $2 }' "$OUT/results/meta.tsv")
SYSTEMS="zram zswap uzswap"
[ "$(echo $WORKLOADS | wc -w)" = 9 ] || fail "9 workloads expected, got: $WORKLOADS"

# every workload x system cell, one successful run each, no failure
if [ "$JSON" = jq ]; then
	jq -e . "$R" >/dev/null || fail "results.json does not parse"
	missing=$(jq -r --arg w "$WORKLOADS" --arg s "$SYSTEMS" '
		. as $r | ($w | split(" ")) as $ws | ($s | split(" ")) as $ss
		| [$ws[] as $w | $ss[] as $s
		   | select(($r.cells[$w][$s].runs // 0) < 1 or $r.cells[$w][$s].failed)
		   | "\($w)/\($s)"]
		+ (if ($r.cells.seq_1g.lz4.runs // 0) < 1 then ["seq_1g/lz4"] else [] end)
		| join(" ")' "$R")
	integrity=$(jq -r '.integrity_error // ""' "$R")
	ntargets=$(jq '.targets | length' "$R")
else
	out=$(python3 - "$R" "$WORKLOADS" "$SYSTEMS" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
miss = [f"{w}/{s}" for w in sys.argv[2].split() for s in sys.argv[3].split()
        if r["cells"].get(w, {}).get(s, {}).get("runs", 0) < 1
        or r["cells"][w][s].get("failed")]
if r["cells"].get("seq_1g", {}).get("lz4", {}).get("runs", 0) < 1:
    miss.append("seq_1g/lz4")
print(" ".join(miss)); print(r.get("integrity_error") or ""); print(len(r["targets"]))
EOF
	) || fail "results.json does not parse"
	missing=$(echo "$out" | sed -n 1p)
	integrity=$(echo "$out" | sed -n 2p)
	ntargets=$(echo "$out" | sed -n 3p)
fi
[ -z "$missing" ] || fail "cells without a run in results.json: $missing"
[ -z "$integrity" ] || fail "integrity error in $integrity"
[ "$ntargets" -ge 6 ] || fail "only $ntargets targets in results.json"
if [ -z "$PLOTS" ]; then
	for p in latency_cdf latency_tail throughput; do
		[ -s "$OUT/results/$p.png" ] || fail "no $p.png"
	done
fi
# the machine as found: zswap's parameters, the zram devices, the swaps
if [ "$(state)" != "$STATE0" ]; then
	diff <(echo "$STATE0") <(state)
	fail "the machine is not as it was found (above: before < > after)"
fi
echo "PASS: bench.sh --quick: 9 workloads x 3 systems, results.json complete"
exit 0
