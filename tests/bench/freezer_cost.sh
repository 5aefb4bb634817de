#!/bin/bash
# SPDX-License-Identifier: MIT
# What a hold's freeze and thaw cost (hold.c): writes of FROZEN and
# THAWED to an empty cgroup v1 freezer group, N pairs, first with no
# other group frozen (the kernel switches its freezer on and off each
# time), then with one empty group kept frozen, as uzswapd keeps its
# pin.  Prints each write's mean, min and max in microseconds, and the
# load average.  Run it under load as well as quiet: the switch is a
# patch of the kernel's code, which waits on every CPU.
#
#   bash tests/bench/freezer_cost.sh [N]         (default 20; root)
set -u
n=${1:-20}
fz=/sys/fs/cgroup/freezer
[ "$(id -u)" = 0 ] || { echo "freezer_cost: needs root" >&2; exit 2; }
[ -e "$fz/tasks" ] || { echo "freezer_cost: no cgroup v1 freezer at $fz" >&2; exit 2; }
[ -n "$(find "$fz" -mindepth 2 -name freezer.state -exec grep -l FROZEN {} + 2>/dev/null)" ] &&
	echo "freezer_cost: another group is frozen now (a running uzswapd's pin?): the first figures are the second's" >&2
base=$fz/uzswap-freezer-cost-$$
cleanup() {
	for g in "$base/pin" "$base/t"; do
		[ -d "$g" ] && echo THAWED >"$g/freezer.state" && rmdir "$g"
	done
	[ -d "$base" ] && rmdir "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$base" "$base/t" "$base/pin" || exit 2

# time_writes LABEL: n pairs on $base/t, microseconds each
time_writes() {
	local i t0 t1 t2 f=() t=()
	for ((i = 0; i < n; i++)); do
		t0=$EPOCHREALTIME
		echo FROZEN >"$base/t/freezer.state"
		t1=$EPOCHREALTIME
		echo THAWED >"$base/t/freezer.state"
		t2=$EPOCHREALTIME
		f+=("$t0 $t1") t+=("$t1 $t2")
	done
	printf '%s\n' "${f[@]}" | awk -v what="$1: freeze" -f <(stats)
	printf '%s\n' "${t[@]}" | awk -v what="$1: thaw  " -f <(stats)
}
stats() {
	cat <<'AWK'
{ d = ($2 - $1) * 1e6; s += d; if (NR == 1 || d < lo) lo = d; if (d > hi) hi = d }
END { printf "%s %8.0f us mean, %.0f..%.0f (min..max), %d writes\n", what, s / NR, lo, hi, NR }
AWK
}

echo "$(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
time_writes "no group frozen"
echo FROZEN >"$base/pin/freezer.state"
time_writes "one kept frozen"
