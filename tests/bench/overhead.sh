#!/bin/bash
# SPDX-License-Identifier: MIT
# What the agent costs a program when nothing is evicted (issue 13: within
# 1 %): each job below runs alone, then under LD_PRELOAD=libuzswap.so with
# a private uzswapd (built-in defaults) connected, in turn, ROUNDS times;
# prints the medians [min..max] of the wall times and their ratio; and,
# as the floor of any preloaded library, the job with the agent loaded but
# disabled (UZSWAP_DISABLE=1: the dynamic loader's work and no more), and
# with an empty library preloaded (one variable, no code: what
# LD_PRELOAD itself costs, whatever the library).
#   cpu      a CPU-bound loop (awk, 3e7 additions)
#   alloc    an allocation-heavy one (python3: 2 million small objects
#            made and dropped, 4 times)
#   spawn    a shell that starts 1,000 short processes (/bin/true)
#
#   bash tests/bench/overhead.sh [--contended] [ROUNDS] [JOBS]
#                                       (default 5 "cpu alloc spawn")
#
# --contended: all of it with one busy loop per CPU beside (hogs.sh), as
# on a busy machine, where each hand-over to another thread or to the
# daemon waits for a CPU.
#
# OVERHEAD_CONF adds lines to uzswapd's [daemon] section (built-in
# defaults otherwise: the automatic loop on).  From the build tree; no
# root needed.  A report, not a test.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/bench/hogs.sh
contended=
[ "${1:-}" = --contended ] && { contended=1; shift; }
rounds=${1:-5} jobs=${2:-cpu alloc spawn}
[ -x ./uzswapd ] && [ -f .libs/libuzswap.so ] || {
	echo "overhead: build first (./uzswapd, .libs/libuzswap.so)" >&2
	exit 2
}
case $rounds in '' | *[!0-9]* | 0) echo "overhead: ROUNDS must be a whole number" >&2; exit 2 ;; esac
dir=$(mktemp -d /tmp/uzswap-overhead.XXXXXX) || exit 2
daemon=
cleanup() {
	hogs_stop
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the interpreter itself: a version manager's shim (pyenv's starts some
# 40 processes) would make alloc a spawn job
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

job() {
	case $1 in
	cpu) awk 'BEGIN { for (i = 0; i < 3e7; i++) s += i; exit s < 0 }' ;;
	alloc) "$PYTHON" -c 'for _ in range(4):
	x = [str(i) for i in range(2000000)]
	del x' ;;
	spawn) sh -c 'i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i + 1)); done' ;;
	*) echo "overhead: no job '$1' (cpu, alloc, spawn)" >&2; exit 2 ;;
	esac
}

# seconds one run of JOB takes, with or without the agent
timed() {
	local t0 t1
	t0=$(date +%s%N)
	if [ "$2" = agent ]; then
		UZSWAP_SOCKET=$dir/sock LD_PRELOAD=$PWD/.libs/libuzswap.so job "$1" || return 1
	elif [ "$2" = loaded ]; then
		UZSWAP_DISABLE=1 LD_PRELOAD=$PWD/.libs/libuzswap.so job "$1" || return 1
	elif [ "$2" = empty ]; then
		LD_PRELOAD=$dir/empty.so job "$1" || return 1
	else
		job "$1" || return 1
	fi
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
	print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# median [min..max] of the numbers given, in ms
summary() {
	printf '%s\n' "$@" | sort -n | awk -v m="$(median "$@")" '{ v[NR] = $1 }
		END { printf "%d [%d..%d]", m, v[1], v[NR] }'
}

# B / A as "1.234x"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", b / a }'; }

echo 'int uzswap_overhead_empty;' | ${CC:-cc} -shared -fPIC -x c - -o "$dir/empty.so" || {
	echo "overhead: cannot build an empty library with ${CC:-cc}" >&2
	exit 2
}

# OVERHEAD_CONF: more [daemon] lines for uzswapd ('auto=off')
printf '[daemon]\n%b\n' "${OVERHEAD_CONF:-}" >"$dir/conf"
./uzswapd --socket "$dir/sock" --config "$dir/conf" >"$dir/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.05; done
[ -S "$dir/sock" ] || { echo "overhead: uzswapd did not start" >&2; cat "$dir/log" >&2; exit 99; }

echo "overhead: $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds, wall ms${contended:+, $(nproc) busy loops beside}"
if [ -n "$contended" ]; then
	hogs_start || exit 99
fi
printf '  %-7s %-22s %-22s %-7s %-22s %-7s %-22s %s\n' job alone "under the agent" \
	ratio "loaded, disabled" ratio "empty library" ratio
for j in $jobs; do
	job "$j" >/dev/null 2>&1 || { echo "overhead: job $j fails on its own" >&2; exit 99; }
	alone=() agent=() loaded=() empty=()
	for r in $(seq "$rounds"); do
		# in turn, the first of each alternating: drift hits all
		if [ $((r % 2)) = 1 ]; then
			alone+=("$(timed "$j" alone)") agent+=("$(timed "$j" agent)")
			loaded+=("$(timed "$j" loaded)") empty+=("$(timed "$j" empty)")
		else
			empty+=("$(timed "$j" empty)") loaded+=("$(timed "$j" loaded)")
			agent+=("$(timed "$j" agent)") alone+=("$(timed "$j" alone)")
		fi
	done
	a=$(median "${alone[@]}") u=$(median "${agent[@]}") l=$(median "${loaded[@]}")
	e=$(median "${empty[@]}")
	printf '  %-7s %-22s %-22s %-7s %-22s %-7s %-22s %s\n' "$j" \
		"$(summary "${alone[@]}")" "$(summary "${agent[@]}")" \
		"$(ratio "$a" "$u")" "$(summary "${loaded[@]}")" "$(ratio "$a" "$l")" \
		"$(summary "${empty[@]}")" "$(ratio "$a" "$e")"
done
echo "  (target: within 1 % of the job alone, issue 13)"
