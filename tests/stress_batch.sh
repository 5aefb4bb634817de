#!/bin/sh
# SPDX-License-Identifier: MIT
# One tests/it/it_stress run per seed, FROM to TO, with the same options:
# a line per failure (its first ERROR), logs kept, a total at the end.
# Not in make check (ten seconds a seed); how the figures in README.md
# and the issue notes were made, e.g.
#   tests/stress_batch.sh 600 659 --auto 1 --clients 2 --kills 2
# STRESS_LOGS (default /var/tmp/uzswap-stress) holds one log per seed.
: "${top_builddir:=.}" "${top_srcdir:=.}"
export top_builddir top_srcdir
if [ $# -lt 2 ]; then
	echo "usage: $0 FROM TO [it_stress options]" >&2
	exit 2
fi
from=$1 to=$2
shift 2
logs=${STRESS_LOGS:-/var/tmp/uzswap-stress}
mkdir -p "$logs" || exit 1
echo "start $(date -u '+%F %T') UTC, load $(cut -d' ' -f1 /proc/loadavg), options: $*"
pass=0 fail=0
for s in $(seq "$from" "$to"); do
	log=$logs/seed$s.log
	timeout -k 5 120 "$top_builddir/tests/it/it_stress" --seed "$s" \
		--seconds "${STRESS_SECONDS:-8}" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "seed $s: exit $rc: $(grep -m1 -e ERROR -e FAIL "$log") ($log)"
	fi
done
echo "end $(date -u '+%F %T') UTC, load $(cut -d' ' -f1 /proc/loadavg): $pass passed, $fail failed"
[ $fail -eq 0 ]
