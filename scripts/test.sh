#!/bin/bash
# SPDX-License-Identifier: MIT
# Install, build and run the whole test suite; the last line is the total.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh || { echo "0 passed, 1 failed"; exit 1; }

make -j2 check >make-check.out 2>&1
rc=$?
# the per-test lines and any failure's log
grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' make-check.out
if [ $rc -ne 0 ]; then
	for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find tests -name '*.trs') 2>/dev/null); do
		echo "=== ${log%.trs}.log"
		tail -n 60 "${log%.trs}.log"
	done
	grep -q '^# TOTAL' make-check.out || tail -n 40 make-check.out
fi

count() { awk -v k="# $1:" '$1" "$2 == k { s += $3 } END { print s + 0 }' make-check.out; }
pass=$(count PASS); fail=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
skip=$(count SKIP)
[ $rc -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
echo "$pass passed, $fail failed, $skip skipped"
[ $rc -eq 0 ] && [ "$fail" -eq 0 ]
