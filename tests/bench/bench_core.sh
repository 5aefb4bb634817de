#!/bin/bash
# SPDX-License-Identifier: MIT
# Core speed benchmark: zram vs uzswap sequential refault, lz4 reference.
#
# Runs tests/bench/bench_core zram / uzswap / lz4 in alternation for a
# number of rounds on the same data, then prints medians [min..max], the
# ratios and PASS/MISS against the targets.  A report, not a test: exit 0
# whatever the figures; 1 on an integrity error, 77 when zram cannot be
# set up, 99 when anything else broke.  See tests/bench/README.md.
set -u

usage() {
	cat <<EOF
usage: $0 [--quick] [--size SIZE] [--rounds N] [--only LIST] [--timeout S]
       [--keep] [-v]
  --quick      64 MiB instead of 1 GiB, one smoke run of each
  --size SIZE  data per run (e.g. 256M, 1G; default 1G)
  --rounds N   rounds of zram, uzswap, lz4 (default 3; --quick: 1)
  --only LIST  comma-separated subset of zram,uzswap,lz4
  --timeout S  give up on a run after S seconds (default 60 + 90 per GiB)
  --keep       keep the work directory (raw JSON lines, uzswapd log)
  -v           show each run's phases
environment: top_builddir (default: this tree), BENCH_CORE, UZSWAPD,
UZSWAPCTL, UZSWAP_AGENT to point at other binaries
EOF
	exit 2
}

SIZE=1G
ROUNDS=
TIMEOUT=
ONLY=zram,uzswap,lz4
KEEP=0
VERBOSE=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SIZE=64M; ROUNDS=${ROUNDS:-1} ;;
	--size) SIZE=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--keep) KEEP=1 ;;
	-v) VERBOSE=-v ;;
	*) usage ;;
	esac
	shift
done
ROUNDS=${ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0) usage ;; esac
case ${TIMEOUT:-0} in *[!0-9]*) usage ;; esac
MODES=$(echo "$ONLY" | tr , ' ')
for m in $MODES; do
	case $m in zram | uzswap | lz4) ;; *) usage ;; esac
done
has() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }

SRCDIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${top_builddir:-}" ]; then
	if [ -x ./tests/bench/bench_core ]; then
		top_builddir=$PWD
	else
		top_builddir=$(cd "$SRCDIR/../.." && pwd)
	fi
fi
BENCH=${BENCH_CORE:-$top_builddir/tests/bench/bench_core}
UZSWAPD=${UZSWAPD:-$top_builddir/uzswapd}
UZSWAPCTL=${UZSWAPCTL:-$top_builddir/uzswapctl}
AGENT=${UZSWAP_AGENT:-$top_builddir/.libs/libuzswap.so}
. "$SRCDIR/zram.sh"

say() { echo "bench_core.sh: $*" >&2; }
die() { say "$1"; exit "${2:-99}"; }

# "64M", "1G", "1GiB", bytes -> bytes rounded up to 2 MB, as bench_core does
size_bytes() {
	local n=${1%%[kKmMgG]*} u=${1#"${1%%[kKmMgG]*}"} m=1
	case $u in
	[kK]*) m=1024 ;; [mM]*) m=$((1 << 20)) ;; [gG]*) m=$((1 << 30)) ;;
	esac
	case $n in '' | *[!0-9]*) die "bad size '$1' (whole numbers: 64M, 1G)" 2 ;; esac
	echo $(((n * m + (2 << 20) - 1) / (2 << 20) * (2 << 20)))
}
BYTES=$(size_bytes "$SIZE") || exit 2
# a minute and a half per GiB is 10 times what a slow run takes
TIMEOUT=${TIMEOUT:-$((60 + 90 * (BYTES >> 30)))}

[ -x "$BENCH" ] || die "no $BENCH: build it with 'make tests/bench/bench_core'"
if has uzswap; then
	for f in "$UZSWAPD" "$UZSWAPCTL" "$AGENT"; do
		[ -e "$f" ] || die "no $f: build uzswap first (make), or --only zram,lz4"
	done
fi

WORK=$(mktemp -d /tmp/uzswap-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$WORK"
SOCK=$WORK/uzswapd.sock
DAEMON_PID=
CHILD=
FAILED=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# the run must be gone before swapoff, or swapoff pulls its pages in
	if [ -n "$CHILD" ]; then
		kill "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	zram_teardown
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM

daemon_log() {
	[ -s "$WORK/uzswapd.log" ] || return 0
	echo "--- uzswapd log (last 40 lines of $WORK/uzswapd.log):" >&2
	tail -n 40 "$WORK/uzswapd.log" >&2
}

daemon_start() {
	env -u LD_PRELOAD "$UZSWAPD" --socket "$SOCK" >"$WORK/uzswapd.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		if [ -S "$SOCK" ] && env -u LD_PRELOAD UZSWAP_SOCKET="$SOCK" \
			"$UZSWAPCTL" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	say "uzswapd did not start: $UZSWAPD --socket $SOCK"
	daemon_log
	return 1
}

# run_one MODE ROUND: one bench_core run; its JSON line goes to MODE.jsonl
run_one() {
	local m=$1 r=$2 rc cmd
	local -a pre=()
	if [ "$m" = zram ] && ! zram_setup $((2 * BYTES)); then
		die "SKIP: zram unavailable: $ZRAM_WHY" 77
	fi
	if [ "$m" = uzswap ]; then
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			say "uzswapd (pid $DAEMON_PID) is gone"
			daemon_log
			return 99
		fi
		pre=(env "UZSWAP_SOCKET=$SOCK" "LD_PRELOAD=$AGENT"
			"UZSWAPCTL=$UZSWAPCTL")
	fi
	cmd="${pre[*]} $BENCH $m $BYTES $VERBOSE"
	# a run that hangs (a fault nobody serves) must not hang the report
	timeout -k 10 "$TIMEOUT" "${pre[@]}" "$BENCH" "$m" "$BYTES" $VERBOSE \
		>"$WORK/out" 2> >(tee "$WORK/err" >&2) &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	CHILD=
	[ "$m" = zram ] && zram_teardown
	if [ $rc = 0 ] && grep -q '^{' "$WORK/out"; then
		grep '^{' "$WORK/out" >>"$WORK/$m.jsonl"
		progress "$m" "$r"
		return 0
	fi
	sleep 0.1 # let tee finish
	[ $rc = 124 ] && say "timed out after $TIMEOUT s"
	say "FAILED: $m, round $r, exit $rc: $cmd"
	[ -s "$WORK/out" ] && sed 's/^/  stdout| /' "$WORK/out" >&2
	[ "$m" = uzswap ] && daemon_log
	return $rc
}

# progress MODE ROUND: one line about the run that just finished
progress() {
	local l
	l=$(tail -n 1 "$WORK/$1.jsonl")
	case $1 in
	lz4) say "  round $2 lz4: ratio $(field "$l" ratio 1 %.2f)," \
		"2 MB decompress $(field "$l" dec2m_p50_ns 1e-3 %.0f) us," \
		"$(field "$l" dec_gbps 1 %.2f) GB/s" ;;
	*) say "  round $2 $1: evict $(field "$l" evict_s 1 %.2f) s," \
		"read $(field "$l" gbps 1 %.2f) GB/s," \
		"THP after $(field "$l" thp_after_pct 1 %.0f)%" ;;
	esac
}

# field LINE KEY SCALE FMT: one number of a JSON line, or n/a
field() {
	echo "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" |
		awk -v s="$3" -v f="$4" '{ printf f, $1 * s; n = 1 } END { if (!n) printf "n/a" }'
}

# agg MODE KEY SCALE: "median min max" over the rounds, or empty
agg() {
	[ -s "$WORK/$1.jsonl" ] || return 0
	sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$WORK/$1.jsonl" | sort -g |
		awk -v s="$3" '{ v[NR] = $1 * s }
		END { if (!NR) exit
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      print m, v[1], v[NR] }'
}

# med MODE KEY SCALE: the median alone
med() { agg "$@" | cut -d' ' -f1; }

# cell MODE KEY SCALE FMT: "median [min..max]" (the median alone for one round)
cell() {
	agg "$1" "$2" "$3" | awk -v f="$4" '
		{ s = sprintf(f, $1)
		  if ($2 != $3) s = s sprintf(" [" f ".." f "]", $2, $3)
		  print s; n = 1 }
		END { if (!n) print "n/a" }'
}

row() { printf '  %-40s %-28s %s\n' "$1" "$2" "$3"; }

# target NAME VALUE OP LIMIT UNIT
target() {
	local v=$2 verdict
	if [ -z "$v" ]; then
		verdict="n/a"
		v="n/a"
	elif awk -v v="$v" -v l="$4" -v op="$3" \
		'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then
		verdict=PASS
	else
		verdict=MISS
	fi
	[ "$v" != n/a ] && v=$(printf '%.2f%s' "$v" "$5")
	printf '  %-40s %8s   (target %s %s%s)   %s\n' "$1" "$v" "$3" "$4" "$5" "$verdict"
}

ratio() { # ratio A B: A / B, or empty when either is missing or B is 0
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) print a / b }'
}

report() {
	local mib=$((BYTES >> 20)) r1 r2 r3
	echo
	echo "uzswap core benchmark: $mib MiB per run, $ROUNDS round(s), median [min..max]"
	echo "  kernel $(uname -r), $(nproc) CPUs, THP $(sed 's/.*\[\(.*\)\].*/\1/' \
		/sys/kernel/mm/transparent_hugepage/enabled), load $LOAD0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
	awk -v a="${LOAD0%% *}" -v b="$(cut -d' ' -f1 /proc/loadavg)" \
		'BEGIN { exit !(a > 0.5 || b > 1.5) }' &&
		echo "  WARNING: the machine was busy (load above): figures are unreliable"
	echo "  data: text-like pages, lz4 ratio $(cell lz4 ratio 1 %.2f) as 64 KB frames"
	echo
	row "" "zram (lz4, 4 KB pages)" "uzswap (lz4, 64 KB frames)"
	row "evict (s)" "$(cell zram evict_s 1 %.2f)" "$(cell uzswap evict_s 1 %.2f)"
	row "sequential refault (GB/s)" "$(cell zram gbps 1 %.2f)" "$(cell uzswap gbps 1 %.2f)"
	row "same read, all resident (GB/s)" "$(cell zram resident_gbps 1 %.2f)" "$(cell uzswap resident_gbps 1 %.2f)"
	row "read + check time (s)" "$(cell zram read_s 1 %.3f)" "$(cell uzswap read_s 1 %.3f)"
	row "faults during read (getrusage)" "$(cell zram faults 1 %.0f)" "$(cell uzswap faults 1 %.0f)"
	row "THP share before evict (%)" "$(cell zram thp_before_pct 1 %.1f)" "$(cell uzswap thp_before_pct 1 %.1f)"
	row "THP share after read (%)" "$(cell zram thp_after_pct 1 %.1f)" "$(cell uzswap thp_after_pct 1 %.1f)"
	row "data out after evict (%)" "$(cell zram out_pct 1 %.1f)" "$(cell uzswap out_pct 1 %.1f)"
	row "compression ratio" "$(cell zram ratio 1 %.2f)" "$(cell uzswap ratio 1 %.2f)"
	row "compressed (MiB)" "$(cell zram zram_compr_bytes 9.5367e-7 %.1f)" "$(cell uzswap uz_stored_bytes 9.5367e-7 %.1f)"
	row "memory used (MiB): mem_used_total, pool" "$(cell zram zram_mem_used 9.5367e-7 %.1f)" "$(cell uzswap uz_pool_bytes 9.5367e-7 %.1f)"
	echo
	echo "  uzswap (uzswapctl stats --json):"
	row "faults (daemon's count)" "" "$(cell uzswap uz_faults 1 %.0f)"
	row "restores 2 MB / 64 KB / zero" "" "$(cell uzswap uz_restores_2m 1 %.0f) / $(cell uzswap uz_restores_64k 1 %.0f) / $(cell uzswap uz_restores_zero 1 %.0f)"
	row "prefetch 2 MB" "" "$(cell uzswap uz_prefetch_2m 1 %.0f)"
	row "fault latency p50 / p99 (us)" "" "$(cell uzswap uz_lat_p50_ns 1e-3 %.1f) / $(cell uzswap uz_lat_p99_ns 1e-3 %.1f)"
	row "2 MB restore p50 / p99 (us)" "" "$(cell uzswap uz_restore2m_p50_ns 1e-3 %.1f) / $(cell uzswap uz_restore2m_p99_ns 1e-3 %.1f)"
	row "evict busy / checksum failures" "" "$(cell uzswap uz_evict_busy 1 %.0f) / $(cell uzswap uz_csum_failures 1 %.0f)"
	echo
	echo "  lz4 reference (single thread, same data):"
	row "2 MB = 32 x 64 KB decompress p50 (us)" "$(cell lz4 dec2m_p50_ns 1e-3 %.1f)" "(min $(cell lz4 dec2m_min_ns 1e-3 %.1f), p99 $(cell lz4 dec2m_p99_ns 1e-3 %.1f))"
	row "decompress all, 64 KB frames (GB/s)" "$(cell lz4 dec_gbps 1 %.2f)" ""
	row "compress all, 64 KB frames (GB/s)" "$(cell lz4 compress_gbps 1 %.2f)" ""
	echo
	echo "  targets (on the medians):"
	r1=$(ratio "$(med uzswap gbps 1)" "$(med zram gbps 1)")
	r2=$(ratio "$(med uzswap uz_restore2m_p50_ns 1)" "$(med lz4 dec2m_p50_ns 1)")
	r3=$(med uzswap thp_after_pct 1)
	target "sequential refault uzswap / zram" "$r1" ">=" 4 x
	target "2 MB restore p50 / lz4 2 MB p50" "$r2" "<=" 1.3 x
	target "THP share after sequential read" "$r3" ">=" 99 %
	if [ -n "$FAILED" ]; then
		echo
		echo "  FAILED runs:$FAILED (see above)"
	fi
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "$((BYTES >> 20)) MiB, $ROUNDS round(s) of: $MODES (work dir $WORK)"
if has uzswap && ! daemon_start; then
	FAILED="$FAILED uzswap"
	MODES=$(echo " $MODES " | sed 's/ uzswap / /')
fi
for r in $(seq "$ROUNDS"); do
	for m in $MODES; do
		case " $FAILED " in *" $m "*) continue ;; esac
		say "round $r/$ROUNDS: $m"
		run_one "$m" "$r"
		rc=$?
		[ $rc = 1 ] && die "INTEGRITY ERROR in the $m run: data read back differs" 1
		# report the others; this mode's figures are not to be trusted
		[ $rc != 0 ] && FAILED="$FAILED $m"
	done
done
report
[ -z "$FAILED" ] || exit 99
exit 0
