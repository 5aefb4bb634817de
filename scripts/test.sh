#!/bin/bash
# SPDX-License-Identifier: MIT
# Install, build and run the whole test suite: the userspace tests
# (make check, built with -Werror), the same tree built with clang
# (scripts/check-clang.sh), then the kernel series built and booted under
# qemu (kernel/check.sh patched).  The last line is the total of all three.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh --for-tests || { echo "0 passed, 1 failed"; exit 1; }

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
echo "userspace: $pass passed, $fail failed, $skip skipped"

# one more test: the whole tree builds with clang too
if bash scripts/check-clang.sh; then pass=$((pass + 1)); else fail=$((fail + 1)); fi

# the kernel part prints its progress, its TAP and a closing
# "kernel: N passed, N failed, N skipped[, N flaky]" line (flaky: mm
# selftest cases that failed once and passed when run again)
bash kernel/check.sh patched 2>&1 | tee kernel-check.out
krc=${PIPESTATUS[0]}
read -r kp kf ks kflaky < <(sed -n -E \
	's/^kernel: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped(, ([0-9]+) flaky)?$/\1 \2 \3 \5/p' \
	kernel-check.out | tail -n 1)
if [ -z "${kp:-}" ]; then
	kp=0 kf=1 ks=0
elif [ "$krc" -ne 0 ] && [ "$krc" -ne 77 ] && [ "$kf" -eq 0 ]; then
	kf=1
fi
pass=$((pass + kp)) fail=$((fail + kf)) skip=$((skip + ks))
[ -n "${kflaky:-}" ] && echo "flaky: $kflaky kernel mm selftest case(s) passed only when run again (counted as passed)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
