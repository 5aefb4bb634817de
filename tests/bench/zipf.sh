#!/bin/bash
# SPDX-License-Identifier: MIT
# zipf_2g (issue 11): bench_zipf's hot/cold workload for a minute with no
# swap at all, under uzswap with automatic eviction (auto=on, the
# defaults, no uzswapctl command), and with zram as the kernel's swap
# (lz4, no memory limit: the kernel swaps only under pressure), round
# after round, the three in turn.  Prints, median [min..max] over the
# rounds: throughput, its loss against no swap, and how much of the cold
# memory (the 90% the workload leaves alone) was out of RAM after 30 s
# and at the end.  A report: exit 0 whatever the figures, 1 on a wrong
# byte, 77 when zram cannot be set up, 99 when a run broke.
#
#   tests/bench/zipf.sh [--rounds N] [--seconds S] [--size MIB] [--limit MIB]
#                       [--phase S]
#
# --phase S: phase_shift (issue 11): the hot tenth moves to other blocks
# every S seconds; the table adds, per system, how many seconds after a
# shift the throughput is back to 90 % of its phase's last second, and
# what is resident at the end of each phase, as a multiple of the hot set
# (medians over the shifts).
#
# --limit MIB: cgroup_limit (issue 11): each run in a cgroup v1 memory
# cgroup of its own limited to MIB (root and the v1 memory controller);
# uzswap takes memory ahead of the limit with no kernel swap, zram is
# the kernel's swap under the same limit, and with no swap at all the
# job is expected to be OOM-killed: a killed run is counted, not fatal.
# (zram's compressed pages are not charged to the cgroup on v1;
# uzswap's pool is.)
#
# Needs root (zram) and the built uzswapd, uzswapctl, .libs/libuzswap.so
# and tests/bench/bench_zipf.  Changes only a zram device of its own and
# a private uzswapd, both undone on exit (see zram.sh).
set -u

ROUNDS=3 SECONDS_RUN=60 SIZE_MIB=2048 LIMIT_MIB= PHASE_S=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:-}; shift ;;
	--seconds) SECONDS_RUN=${2:-}; shift ;;
	--size) SIZE_MIB=${2:-}; shift ;;
	--limit) LIMIT_MIB=${2:-}; [ -n "$LIMIT_MIB" ] || LIMIT_MIB=x; shift ;;
	--phase) PHASE_S=${2:-}; [ -n "$PHASE_S" ] || PHASE_S=x; shift ;;
	*) echo "usage: $0 [--rounds N] [--seconds S] [--size MIB] [--limit MIB] [--phase S]" >&2; exit 2 ;;
	esac
	shift
done
for v in "$ROUNDS" "$SECONDS_RUN" "$SIZE_MIB" ${LIMIT_MIB:+"$LIMIT_MIB"} ${PHASE_S:+"$PHASE_S"}; do
	case $v in '' | *[!0-9]* | 0) echo "zipf.sh: whole numbers above 0" >&2; exit 2 ;; esac
done
[ "$SECONDS_RUN" -ge 31 ] || { echo "zipf.sh: --seconds must be 31 or more" >&2; exit 2; }

SRCDIR=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$SRCDIR/../.." && pwd)}
ZIPF=$top/tests/bench/bench_zipf UZSWAPD=$top/uzswapd UZSWAPCTL=$top/uzswapctl
AGENT=$top/.libs/libuzswap.so
. "$SRCDIR/zram.sh"
. "$SRCDIR/auto_daemon.sh"
say() { echo "zipf.sh: $*" >&2; }
for f in "$ZIPF" "$UZSWAPD" "$UZSWAPCTL" "$AGENT"; do
	[ -x "$f" ] || [ -e "$f" ] || { say "no $f: run make (and make tests/bench/bench_zipf)"; exit 99; }
done
[ "$(id -u)" = 0 ] || { say "SKIP: needs root (zram)"; exit 77; }
MEMCG=/sys/fs/cgroup/memory
if [ -n "$LIMIT_MIB" ] && [ ! -w "$MEMCG/cgroup.procs" ]; then
	say "SKIP: --limit needs the cgroup v1 memory controller at $MEMCG"
	exit 77
fi
auto_bench_dir zipf
auto_daemon_start

# run SYSTEM ROUND: one bench_zipf; its JSON line to $DIR/SYSTEM.jsonl
run() {
	local s=$1 r=$2 rc load
	load=$(cut -d' ' -f1 /proc/loadavg)
	say "round $r: $s ($SECONDS_RUN s, load $load)"
	local in_cg=
	if [ -n "$LIMIT_MIB" ]; then
		# a cgroup of its own, limited, that the run starts in
		CG=$MEMCG/uzswap-zipf-$$-$s-$r
		mkdir "$CG" && echo $((LIMIT_MIB << 20)) >"$CG/memory.limit_in_bytes" ||
			{ say "cannot make $CG"; exit 99; }
		in_cg="$SRCDIR/in-cgroup.sh $CG"
	fi
	case $s in
	zram) zram_setup $((2 * SIZE_MIB << 20)) || { say "SKIP: zram: $ZRAM_WHY"; exit 77; }
	      $in_cg "$ZIPF" "$SECONDS_RUN" "$SIZE_MIB" $PHASE_S >"$DIR/out" & ;;
	uzswap) env LD_PRELOAD="$AGENT" UZSWAP_SOCKET="$DIR/sock" \
		$in_cg "$ZIPF" "$SECONDS_RUN" "$SIZE_MIB" $PHASE_S >"$DIR/out" & ;;
	none) $in_cg "$ZIPF" "$SECONDS_RUN" "$SIZE_MIB" $PHASE_S >"$DIR/out" & ;;
	esac
	CHILD=$!
	wait "$CHILD"
	rc=$?
	CHILD=
	[ "$s" = zram ] && zram_teardown
	if [ -n "$CG" ]; then
		rmdir "$CG" 2>/dev/null
		CG=
	fi
	[ $rc = 1 ] && { say "INTEGRITY: $s round $r read wrong bytes"; exit 1; }
	if [ -n "$LIMIT_MIB" ] && [ $rc = 137 ]; then
		say "$s round $r: killed (the OOM killer, in a $LIMIT_MIB MiB cgroup)"
		echo "$s" >>"$OUT/killed"
		return
	fi
	[ $rc = 0 ] || { say "$s round $r failed ($rc)"; exit 99; }
	sed "s/^{/{\"load\": $load, /" "$DIR/out" >>"$OUT/$s.jsonl"
}

start=$(date -u '+%Y-%m-%d %H:%M UTC')
# (a run killed under --limit leaves no line: the table has what ran)
# the runs' JSON lines are kept there (results/ is git-ignored)
OUT=${ZIPF_OUT:-$top/results/zipf-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || { say "cannot make $OUT"; exit 99; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
	for s in none uzswap zram; do
		run "$s" "$r"
	done
done

# The table: per run, the mean accesses/s, the cold share out of RAM at
# 30 s and at the end; medians [min..max] over the rounds.
awk -v rounds="$ROUNDS" -v secs="$SECONDS_RUN" -v start="$start" -v limit="$LIMIT_MIB" -v phase="$PHASE_S" \
    -v load0="$load0" -v load1="$(cut -d' ' -f1-3 /proc/loadavg)" '
function num(key,   m) {
	if (!match($0, "\"" key "\": [-0-9.]+")) return -1
	m = substr($0, RSTART, RLENGTH); sub(/.*: /, "", m); return m + 0
}
function arr(key, out,   m, n) {
	if (!match($0, "\"" key "\": \\[[^]]*\\]")) return 0
	m = substr($0, RSTART, RLENGTH); sub(/^[^[]*\[/, "", m); sub(/\]$/, "", m)
	return split(m, out, ", ")
}
# the share of the cold memory out of RAM when RssAnon was @kb (the
# program own few MB over the data read as 0, not as a negative share)
function out_share(kb,   v) {
	v = 100 * (num("size") / 1024 - kb) / cold
	return v < 0 ? 0 : v
}
function med_num(v, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) {
		t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}
function med(v, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) {
		t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return sprintf(fmt, n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2) \
	       " [" sprintf(fmt, v[1]) ".." sprintf(fmt, v[n]) "]"
}
{
	s = FILENAME; sub(/.*\//, "", s); sub(/\.jsonl$/, "", s)
	r = ++runs[s]
	n = arr("accesses", a); tot = 0
	for (i = 1; i <= n; i++) tot += a[i]
	rate[s, r] = tot / n / 1e6
	k = arr("rss_anon_kb", kb)
	cold = (num("size") - num("hot_bytes")) / 1024
	out30[s, r] = out_share(kb[30])
	outend[s, r] = out_share(kb[k])
	for (i = 1; i <= k; i++) if (out_share(kb[i]) >= 80) break
	t80[s, r] = i <= k ? i : -1
	# phase_shift: per shift, seconds until 90 % of the phase s last
	# second, and RssAnon at the phase s end over the hot set
	p = num("phase_s"); nrec = 0
	for (t = p; p > 0 && t + p <= n; t += p) {
		for (j = t + 1; j <= t + p && a[j] < 0.9 * a[t + p]; j++) ;
		rec[++nrec] = j - t
		res[nrec] = kb[t + p] / (num("hot_bytes") / 1024)
	}
	if (nrec) {
		fmt = "%d"; recov[s, r] = med_num(rec, nrec)
		resid[s, r] = med_num(res, nrec)
		phased = 1
	}
}
END {
	printf "%s: %s, %d s per run, %d round(s); load average %s at the start, %s at the end\n",
		limit ? "cgroup_limit (zipf, " limit " MiB cgroup)" : phase ? "phase_shift (zipf, the hot set moving every " phase " s)" : "zipf_2g",
		start, secs, rounds, load0, load1
	printf "cold = the 90%% of the memory the workload reads once a second at most\n\n"
	printf "| system | accesses/s (M) | loss vs no swap | cold out of RAM at 30 s | at the end | s to 80%% |\n"
	printf "|---|---|---|---|---|---|\n"
	split("none uzswap zram", order, " ")
	for (o = 1; o <= 3; o++) {
		s = order[o]
		if (!runs[s]) continue
		for (r = 1; r <= runs[s]; r++) {
			v1[r] = rate[s, r]
			v2[r] = runs["none"] >= r ? 100 * (1 - rate[s, r] / rate["none", r]) : 0
			v3[r] = out30[s, r]; v4[r] = outend[s, r]; v5[r] = t80[s, r]
		}
		fmt = "%.2f"; c1 = med(v1, runs[s])
		fmt = "%.1f%%"; c2 = s == "none" || runs["none"] < runs[s] ? "-" : med(v2, runs[s])
		c3 = med(v3, runs[s]); c4 = med(v4, runs[s])
		fmt = "%d"; c5 = med(v5, runs[s])
		printf "| %s | %s | %s | %s | %s | %s |\n", s, c1, c2, c3, c4, c5
	}
	if (phased) {
		printf "\nphase_shift: the hot set moves every %d s\n\n", phase
		printf "| system | s to 90%% after a shift | resident at a phase end (x hot set) |\n"
		printf "|---|---|---|\n"
		for (o = 1; o <= 3; o++) {
			s = order[o]
			if (!runs[s]) continue
			for (r = 1; r <= runs[s]; r++) { v1[r] = recov[s, r]; v2[r] = resid[s, r] }
			fmt = "%.1f"; c1 = med(v1, runs[s]); c2 = med(v2, runs[s])
			printf "| %s | %s | %s |\n", s, c1, c2
		}
	}
	if (runs["uzswap"] && runs["uzswap"] == runs["zram"]) {
		for (r = 1; r <= runs["zram"]; r++) v1[r] = rate["uzswap", r] / rate["zram", r]
		fmt = "%.2fx"
		printf "\nuzswap against zram, accesses/s in the same round: %s\n", med(v1, runs["zram"])
	}
	printf "\n(loss: each round against that round'"'"'s run with no swap; s to 80%%: -1 = never)\n"
}' $(for s in none uzswap zram; do [ -s "$OUT/$s.jsonl" ] && echo "$OUT/$s.jsonl"; done) </dev/null |
	tee "$OUT/table.md"
if [ -s "$OUT/killed" ]; then
	echo "killed by the OOM killer (runs): $(sort "$OUT/killed" | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')" |
		tee -a "$OUT/table.md"
fi
cp "$DIR/uzswapd.log" "$OUT/"
echo "runs, table and uzswapd's log in $OUT; what automatic eviction did (last lines):"
grep -E "backs off|evict" "$DIR/uzswapd.log" | tail -n 5
