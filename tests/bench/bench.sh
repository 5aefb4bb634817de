#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark suite: uzswap against the kernel's zram and zswap.
#
# Runs tests/bench/bench_run for every workload on every system, round
# after round (the systems in turn, so drift hits all of them), then
# writes a table, the same as JSON, and PNG plots into a results folder
# that it names at the end.  A report, not a test: exit 0 whatever the
# figures; 1 on an integrity error, 77 when a system cannot be set up,
# 99 when a run broke.  See tests/bench/README.md.
set -u

ALL_WORKLOADS="seq_1g nohint_seq64 seqhint_seq64 stride64_sparse random64_sparse random64_full zero_seq incompressible_seq evict_1g"
# seq_1g at 4 and 8 GiB, for the curve of refault speed against size
# (not in --quick, and only when asked for: --only or --sizes)
BIG_WORKLOADS="seq_4g seq_8g"
# A workload's contended variant, W@hogs, is the same run with one busy
# loop per CPU, each in a session of its own, from just before it starts
# to its end
HOGS=@hogs
# A run starts only on a machine otherwise idle: above this share of all
# CPUs busy in the second before it, the report gives no verdicts
BUSY_PCT_MAX=10
BUSY_WAIT_S=30
ALL_SYSTEMS="zram zswap uzswap"

usage() {
	cat <<EOF
usage: $0 [--quick] [--rounds N] [--size SIZE] [--only WORKLOADS]
       [--contended] [--sizes] [--systems LIST] [--out DIR] [--timeout S]
       [--no-plots] [-v]
  --quick          64 MiB and 32 MiB instead of 1 GiB and 512 MiB, one
                   round: a smoke run of the whole harness, not a timing
  --rounds N       runs of each cell (default 3; --quick: 1)
  --size SIZE      the 1 GiB workloads' size (others take half; default 1G)
  --only LIST      comma-separated workloads (default all):
                   $(echo $ALL_WORKLOADS | tr ' ' ,),
                   $(echo $BIG_WORKLOADS | tr ' ' ,) (seq_1g at 4 and 8 GiB),
                   and any of them with $HOGS: the same run with a busy
                   loop on every CPU meanwhile
  --contended      every workload also as W$HOGS, after all the quiet runs
  --sizes          add $(echo $BIG_WORKLOADS | tr ' ' ,) (the curve of seq_1g's speed by size)
  --systems LIST   comma-separated subset of zram,zswap,uzswap (default
                   all; with uzswap, seq_1g also runs the lz4 reference)
  --out DIR        results folder (default results/bench-DATE-TIME at the
                   top of the build tree)
  --timeout S      give up on a run after S seconds (default 60 + 90 per GiB)
  --no-plots       no gnuplot
  -v               each run's phases
environment: top_builddir (default: this tree), BENCH_RUN, UZSWAPD,
UZSWAPCTL, UZSWAP_AGENT point at other binaries; ZSWAP_COMPRESSOR forces
zswap's compressor; BENCH_SWAPDIR is where the swap file goes (/var/tmp)
EOF
	exit 2
}

QUICK=0
CONTENDED=0
SIZES=0
SIZE=1G
ROUNDS=
TIMEOUT=
WORKLOADS=$ALL_WORKLOADS
SYSTEMS=$ALL_SYSTEMS
OUT=
PLOTS=1
VERBOSE=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; SIZE=64M ;;
	--rounds) ROUNDS=${2:-}; shift ;;
	--size) SIZE=${2:-}; shift ;;
	--only) WORKLOADS=$(echo "${2:-}" | tr , ' '); shift ;;
	--contended) CONTENDED=1 ;;
	--sizes) SIZES=1 ;;
	--systems) SYSTEMS=$(echo "${2:-}" | tr , ' '); shift ;;
	--out) OUT=${2:-}; shift ;;
	--timeout) TIMEOUT=${2:-}; shift ;;
	--no-plots) PLOTS=0 ;;
	-v) VERBOSE=-v ;;
	*) usage ;;
	esac
	shift
done
[ "$QUICK" = 1 ] && ROUNDS=${ROUNDS:-1}
ROUNDS=${ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0) usage ;; esac
case ${TIMEOUT:-0} in '' | *[!0-9]*) usage ;; esac
[ "$SIZES" = 1 ] && WORKLOADS="$WORKLOADS $BIG_WORKLOADS"
[ "$CONTENDED" = 1 ] && WORKLOADS="$WORKLOADS $(for w in $WORKLOADS; do
	case $w in *"$HOGS") ;; *) printf '%s ' "$w$HOGS" ;; esac; done)"
# each once, in the order first given
WORKLOADS=$(printf '%s\n' $WORKLOADS | awk '!seen[$0]++' | xargs)
for w in $WORKLOADS; do
	case " $ALL_WORKLOADS $BIG_WORKLOADS " in *" ${w%"$HOGS"} "*) ;; *) usage ;; esac
	case "$QUICK/${w%"$HOGS"}" in 1/seq_4g | 1/seq_8g)
		echo "$0: $w is not for --quick" >&2; exit 2 ;;
	esac
done
for s in $SYSTEMS; do
	case " $ALL_SYSTEMS " in *" $s "*) ;; *) usage ;; esac
done
[ -n "$WORKLOADS" ] && [ -n "$SYSTEMS" ] || usage
has() { case " $SYSTEMS " in *" $1 "*) return 0 ;; esac; return 1; }

SRCDIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${top_builddir:-}" ]; then
	if [ -x ./tests/bench/bench_run ]; then
		top_builddir=$PWD
	else
		top_builddir=$(cd "$SRCDIR/../.." && pwd)
	fi
fi
BENCH=${BENCH_RUN:-$top_builddir/tests/bench/bench_run}
UZSWAPD=${UZSWAPD:-$top_builddir/uzswapd}
UZSWAPCTL=${UZSWAPCTL:-$top_builddir/uzswapctl}
AGENT=${UZSWAP_AGENT:-$top_builddir/.libs/libuzswap.so}
. "$SRCDIR/zram.sh"
. "$SRCDIR/zswap.sh"
. "$SRCDIR/plot.sh"
. "$SRCDIR/hogs.sh"

say() { echo "bench.sh: $*" >&2; }
die() { say "$1"; exit "${2:-99}"; }

# "64M", "1G", "1GiB", bytes -> bytes rounded up to 2 MB, as bench_run does
size_bytes() {
	local n=${1%%[kKmMgG]*} u=${1#"${1%%[kKmMgG]*}"} m=1
	case $u in
	[kK]*) m=1024 ;; [mM]*) m=$((1 << 20)) ;; [gG]*) m=$((1 << 30)) ;;
	esac
	case $n in '' | *[!0-9]*) die "bad size '$1' (whole numbers: 64M, 1G)" 2 ;; esac
	echo $(((n * m + (2 << 20) - 1) / (2 << 20) * (2 << 20)))
}
BIG=$(size_bytes "$SIZE") || exit 2
HALF=$(((BIG / 2 + (2 << 20) - 1) / (2 << 20) * (2 << 20)))
# the issue's sizes: 1 GiB for these, a 512 MiB target for the others
wsize() {
	case ${1%"$HOGS"} in
	seq_1g | zero_seq | incompressible_seq | evict_1g) echo "$BIG" ;;
	seq_4g) echo $((4 << 30)) ;;
	seq_8g) echo $((8 << 30)) ;;
	*) echo "$HALF" ;;
	esac
}
# is W a W@hogs?
contended() { [ "$1" != "${1%"$HOGS"}" ]; }
# what bench_run calls a workload
wbase() {
	case ${1%"$HOGS"} in
	seq_4g | seq_8g) echo seq_1g ;;
	*) echo "${1%"$HOGS"}" ;;
	esac
}
# the largest size any run takes: the swap the kernel needs
MAXSIZE=$BIG
for w in $WORKLOADS; do
	[ "$(wsize "$w")" -gt "$MAXSIZE" ] && MAXSIZE=$(wsize "$w")
done

[ -x "$BENCH" ] || die "no $BENCH: build it with 'make tests/bench/bench_run'"
if has uzswap; then
	for f in "$UZSWAPD" "$UZSWAPCTL" "$AGENT"; do
		[ -e "$f" ] || die "no $f: build uzswap first (make), or --systems zram,zswap"
	done
fi
if [ "$(id -u)" != 0 ] && { has zram || has zswap; }; then
	die "SKIP: zram, zswap and swapon need root" 77
fi

OUT=${OUT:-$top_builddir/results/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/lat" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/runs.jsonl"
# the socket's path must be short: not in the results folder
SOCKDIR=$(mktemp -d /tmp/uzswap-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$SOCKDIR"
SOCK=$SOCKDIR/uzswapd.sock
DAEMON_PID=
CHILD=
FAILED=		# "workload/system ..." left out of later rounds
INTEGRITY=

cleanup() {
	local rc=$?
	[ -n "${warm:-}" ] && rm -f "$warm"
	trap - EXIT INT TERM HUP
	hogs_stop
	# the run must be gone before swapoff, or swapoff pulls its pages in
	if [ -n "$CHILD" ]; then
		kill "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	zram_teardown
	zswap_teardown
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$SOCKDIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM
trap 'say hung up; exit 129' HUP

daemon_log() {
	[ -s "$OUT/uzswapd.log" ] || return 0
	echo "--- uzswapd log (last 40 lines of $OUT/uzswapd.log):" >&2
	tail -n 40 "$OUT/uzswapd.log" >&2
}

daemon_start() {
	# its own configuration: lz4, whatever /etc/uzswap says; evicted by
	# hand (uzswapctl evict --all), so no automatic loop beside it
	printf '[daemon]\ncodec=lz4\nauto=off\n' >"$SOCKDIR/uzswapd.conf"
	env -u LD_PRELOAD "$UZSWAPD" --socket "$SOCK" --config "$SOCKDIR/uzswapd.conf" \
		>"$OUT/uzswapd.log" 2>&1 &
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

# field LINE KEY: one number of a JSON line, or empty
field() { echo "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"; }

# cpu_ticks: busy and all ticks of every CPU so far (/proc/stat; steal
# counts as busy: the host ran something else)
cpu_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# busy_pct: the share of all CPUs busy over the next second, in %
busy_pct() {
	local a b
	a=($(cpu_ticks))
	sleep 1
	b=($(cpu_ticks))
	echo $((100 * (b[0] - a[0]) / (b[1] - a[1] > 0 ? b[1] - a[1] : 1)))
}

# quiet_pct: wait up to BUSY_WAIT_S for a second in which the CPUs are
# no more than BUSY_PCT_MAX busy (a blip passes); the last second's share
quiet_pct() {
	local i b
	for i in $(seq "$BUSY_WAIT_S"); do
		b=$(busy_pct)
		[ "$b" -le "$BUSY_PCT_MAX" ] && break
		[ "$i" = 1 ] && say "the CPUs are $b % busy: waiting up to $BUSY_WAIT_S s for them to calm"
	done
	echo "$b"
}

# run_one SYSTEM WORKLOAD ROUND: one bench_run; its JSON line goes to
# runs.jsonl with the load average at its start and how busy the
# machine was in the second before (before the hogs of a W@hogs)
run_one() {
	local s=$1 w=$2 r=$3 size rc cmd load tmo line busy base
	local -a pre=()
	size=$(wsize "$w")
	base=$(wbase "$w")
	tmo=${TIMEOUT:-$((60 + 90 * size / (1 << 30)))}
	# busy loops beside it: every phase may take twice as long
	contended "$w" && [ -z "$TIMEOUT" ] && tmo=$((2 * tmo))
	case $s in
	zram)
		zram_setup $((2 * size)) || die "SKIP: zram unavailable: $ZRAM_WHY" 77 ;;
	zswap)
		zswap_on || { say "$ZSWAP_WHY"; return 99; } ;;
	uzswap)
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			say "uzswapd (pid $DAEMON_PID) is gone"
			daemon_log
			return 99
		fi
		pre=(env "UZSWAP_SOCKET=$SOCK" "LD_PRELOAD=$AGENT" "UZSWAPCTL=$UZSWAPCTL") ;;
	esac
	read -r load _ </proc/loadavg
	busy=$(quiet_pct)
	cmd="${pre[*]} $BENCH $s $base $size --round $r"
	contended "$w" && { hogs_start || die "no busy loops" 99; } && cmd="$cmd (with $(nproc) busy loops)"
	# a run that hangs (a fault nobody serves) must not hang the suite
	timeout -k 10 "$tmo" "${pre[@]}" "$BENCH" "$s" "$base" "$size" --round "$r" \
		--lat "$OUT/lat/$w.$s.r$r.txt" $VERBOSE \
		>"$SOCKDIR/out" 2> >(tee "$SOCKDIR/err" >&2) &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	CHILD=
	hogs_stop
	case $s in zram) zram_teardown ;; zswap) zswap_off ;; esac
	line=$(grep '^{' "$SOCKDIR/out")
	# the report's name for it: W@hogs, seq_4g
	line=$(echo "$line" | sed "s/\"workload\":\"[^\"]*\"/\"workload\":\"$w\"/")
	if [ $rc = 0 ] && [ -n "$line" ]; then
		echo "{\"load1\":$load,\"busy_pct\":$busy,${line#\{}" >>"$OUT/runs.jsonl"
		LAST=$line
		return 0
	fi
	sleep 0.1 # let tee finish
	[ $rc = 124 ] && say "timed out after $tmo s"
	say "FAILED: $w on $s, round $r, exit $rc: $cmd"
	[ -n "$line" ] && sed 's/^/  stdout| /' "$SOCKDIR/out" >&2
	[ "$s" = uzswap ] && daemon_log
	return $rc
}

# progress: one line about the run that just finished, and time left
progress() {
	local s=$1 w=$2 now el left what
	now=$(date +%s)
	el=$((now - T0))
	left=$((el * (TOTAL - DONE) / DONE))
	case $s/$(wbase "$w") in
	lz4/*) what=$(printf 'lz4 decompress %.2f GB/s' "$(field "$LAST" dec_gbps)") ;;
	*/evict_1g) what=$(printf 'evict %.3f s' "$(field "$LAST" evict_s)") ;;
	*) what=$(printf 'read %.3f GB/s, %d faults' "$(field "$LAST" gbps)" \
		"$(field "$LAST" faults)") ;;
	esac
	say "$(printf '[%3d/%d]' "$DONE" "$TOTAL") $w on $s: $what" \
		"($((el / 60))m$((el % 60))s, about $((left / 60))m$((left % 60))s left)"
}

# meta KEY VALUE: one line of what the run was, for the report
meta() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/meta.tsv"; }

# which systems run a workload, rotated by the round: none goes first always
systems_for() {
	local w=$1 r=$2 list="" i n
	set -- $SYSTEMS
	n=$#
	for i in $(seq 0 $((n - 1))); do
		eval "list=\"\$list \${$(((i + r - 1) % n + 1))}\""
	done
	[ "$w" = seq_1g ] && has uzswap && list="$list lz4"
	# the userfaultfd floor beside uzswap's sparse random reads
	[ "$(wbase "$w")" = random64_sparse ] && has uzswap && list="$list uffd"
	echo $list
}

# --- set up ---
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/meta.tsv"
if has zram; then
	zram_setup $((2 * MAXSIZE)) || die "SKIP: zram unavailable: $ZRAM_WHY" 77
	zram_teardown
fi
if has zswap; then
	zswap_setup $((2 * MAXSIZE + (16 << 20))) || die "SKIP: zswap unavailable: $ZSWAP_WHY" 77
	meta zswap_compressor "$ZSWAP_COMP"
	meta zswap_crypto "$(awk '/^name/ { print $3 }' /proc/crypto |
		grep -xE "$(echo $ZSWAP_PREFER | tr ' ' '|')" | sort -u | xargs)"
	meta zswap_swapfile "$(dirname "$ZSWAP_FILE") ($(findmnt -no FSTYPE -T "$ZSWAP_FILE"))"
	dev=$(findmnt -no SOURCE -T "$ZSWAP_FILE" | sed 's|^/dev/||; s|[0-9]*$||')
	[ -r "/sys/block/$dev/queue/rotational" ] &&
		meta zswap_disk_rotational "$(cat "/sys/block/$dev/queue/rotational")"
fi
if has uzswap && ! daemon_start; then
	die "uzswapd does not start" 99
fi
meta kernel "$(uname -r)"
meta cpus "$(nproc)"
meta thp "$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
meta page_cluster "$(cat /proc/sys/vm/page-cluster 2>/dev/null)"
meta date "$(date '+%Y-%m-%d %H:%M:%S %z')"
meta rounds "$ROUNDS"
meta quick "$QUICK"
meta size_big "$BIG"
meta size_half "$HALF"
meta workloads "$WORKLOADS"
meta systems "$SYSTEMS"
meta load_before "$LOAD0"
meta busy_pct_max "$BUSY_PCT_MAX"
meta hogs "$(nproc)"

# A VM's memory is backed by its host on first touch: a 2 MB page the
# guest has never used costs ~2.5 ms to fault in (measured here), ~0.1 ms
# once used.  Touch the free memory once so every system runs on memory
# the guest has used before (both kernel swap and uzswap allocate pages
# on refault); a long-running machine is in that state anyway.
if [ "$QUICK" = 0 ]; then
	free_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	warm_mb=$((free_mb - 3072))
	[ "$warm_mb" -gt 16384 ] && warm_mb=16384
	if [ "$warm_mb" -gt 0 ] && [ -d /dev/shm ]; then
		say "warming ${warm_mb} MiB of free memory (first touch in a VM is slow)"
		warm=$(mktemp /dev/shm/uzswap-bench-warm.XXXXXX)
		dd if=/dev/zero of="$warm" bs=1M count="$warm_mb" status=none || true
		rm -f "$warm"
		meta warmed_mb "$warm_mb"
	fi
fi

TOTAL=0
for w in $WORKLOADS; do
	TOTAL=$((TOTAL + $(systems_for "$w" 1 | wc -w)))
done
TOTAL=$((TOTAL * ROUNDS))
DONE=0
T0=$(date +%s)
say "$TOTAL runs ($ROUNDS round(s)), $((BIG >> 20)) MiB and $((HALF >> 20)) MiB;" \
	"load $LOAD0; results in $OUT"

# --- the runs ---
for r in $(seq "$ROUNDS"); do
	for w in $WORKLOADS; do
		for s in $(systems_for "$w" "$r"); do
			DONE=$((DONE + 1))
			case " $FAILED " in *" $w/$s "*) continue ;; esac
			run_one "$s" "$w" "$r"
			rc=$?
			if [ $rc = 0 ]; then
				progress "$s" "$w"
				continue
			fi
			FAILED="$FAILED $w/$s"
			if [ $rc = 1 ]; then
				INTEGRITY="$w/$s"
				say "INTEGRITY ERROR: $w on $s read back data that differs"
				break 3
			fi
		done
	done
done

# --- the report ---
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
meta failed "$FAILED"
meta integrity_error "$INTEGRITY"
awk -v json="$OUT/results.json" -v plotdir="$OUT" -f "$SRCDIR/report.awk" \
	"$OUT/meta.tsv" "$OUT/runs.jsonl" | tee "$OUT/table.txt"
if [ "$PLOTS" = 1 ]; then
	plot_all "$OUT" || say "no plots (see above)"
fi
echo
echo "results: $OUT"
[ -n "$INTEGRITY" ] && exit 1
[ -z "$FAILED" ] || exit 99
exit 0
