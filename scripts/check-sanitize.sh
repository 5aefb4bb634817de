#!/bin/bash
# SPDX-License-Identifier: MIT
# The unit and integration tests (make check less the benchmark smoke test
# and the kernel part's judge) built with AddressSanitizer and
# UndefinedBehaviorSanitizer, in a build of their own under $UZ_SAN_DIR
# (default /var/tmp/uzswap-san): src/ a copy of the sources (an in-place
# configured tree cannot be built out of tree), build/ the VPATH build,
# reports/ the sanitizers' reports, named after the test. Each run starts
# afresh (the build takes under a minute). A test may take
# $UZ_SAN_TIMEOUT seconds (default 600); a hang fails it. The last line
# is "N passed, N failed, N skipped".
#
# UZ_SAN_KIND=thread (make check-tsan) builds with ThreadSanitizer
# instead, under $UZ_SAN_DIR (default /var/tmp/uzswap-tsan): the agent's
# threads (agent loop, worker, filler) against each other and against
# the application's, and the daemon's.
set -uo pipefail

# --one-test TEST...: how make check runs each test (LOG_COMPILER). Under
# a time limit, in a process group of its own (timeout's), which is
# killed when the test ends, with what a hang left behind; with its
# processes' reports in files named after it and shown in its log. A
# report fails the test even if it passed: a daemon that dies of one can
# go unnoticed by a test that outlives daemon deaths.
if [ "${1:-}" = --one-test ]; then
	shift
	rep=$UZ_SAN_REPORTS/$(basename "$1")
	export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$rep.asan"
	export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$rep.ubsan"
	export TSAN_OPTIONS="$TSAN_OPTIONS:log_path=$rep.tsan"
	timeout -k 10 "$UZ_SAN_TIMEOUT" "$@" &
	group=$!
	wait $group
	rc=$?
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "FAIL: timed out after $UZ_SAN_TIMEOUT s"
	left=$(pgrep -g $group | paste -sd,)
	if [ -n "$left" ]; then
		echo "note: killing what the test left running:"
		ps -L -o pid,lwp,stat,wchan:24,time,comm -p "$left" | sed 's/^/  /'
		kill -9 -- -$group 2>/dev/null
	fi
	found=0
	for r in "$rep".asan.* "$rep".ubsan.* "$rep".tsan.*; do
		[ -e "$r" ] || continue
		echo "=== sanitizer report $r"
		cat "$r"
		found=1
	done
	[ $found = 1 ] && { [ $rc -eq 0 ] || [ $rc -eq 77 ]; } && rc=1
	exit $rc
fi

cd "$(dirname "$0")/.." || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
src=$(pwd -P)
. scripts/check-lib.sh
give_up() { echo "sanitize: $*"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
kind=${UZ_SAN_KIND:-address}
case $kind in
address) dir=${UZ_SAN_DIR:-/var/tmp/uzswap-san} rt_name=libasan.so
	 san="-fsanitize=address,undefined -fno-omit-frame-pointer"
	 san_cflags=-fno-sanitize-recover=undefined ;;
thread)	 dir=${UZ_SAN_DIR:-/var/tmp/uzswap-tsan} rt_name=libtsan.so
	 san="-fsanitize=thread -fno-omit-frame-pointer" san_cflags= ;;
*)	 give_up "UZ_SAN_KIND must be address or thread, not '$kind'" ;;
esac
mkdir -p "$dir" && dir=$(cd "$dir" && pwd -P) || give_up "cannot make $dir"
# gcc: its runtime is a shared library that can be preloaded (clang's is
# linked statically into programs by default)
san_rt=$(gcc -print-file-name=$rt_name)
[ -e "$san_rt" ] || give_up "gcc has no $rt_name (apt-get install build-essential)"

rm -rf "$dir/src" "$dir/build" "$dir/reports"
mkdir -p "$dir/build" "$dir/reports" || give_up "cannot write in $dir"
chmod 1777 "$dir/reports"	# test processes that dropped to nobody write there too
log=$dir/build.log
copy_sources "$src" "$dir/src" >"$log" 2>&1 || give_up "could not copy the sources ($how)"
echo "sanitize ($kind): building a copy of the sources ($how) in $dir"
start=$SECONDS
# -O1: faster than -O0, and reports still match the source; --enable-werror
# as scripts/bootstrap.sh --for-tests builds
if ! (cd "$dir/src" && autoreconf -fi && cd "$dir/build" &&
      ../src/configure --quiet --enable-werror CC=gcc \
	CFLAGS="$san $san_cflags -g -O1" LDFLAGS="$san" &&
      make -j"$(nproc)" all && make -j"$(nproc)" check TESTS= &&
      gcc -shared -fPIC -g -O1 -Wall -Wextra -Werror -I../src/include -o libsan-hot.so \
	../src/tests/lib/san_hot.c -L.libs -luzswap) >"$log" 2>&1; then
	grep -E 'error|warning' "$log" | head -n 40
	tail -n 20 "$log"
	give_up "build failed ($log)"
fi
echo "sanitize: built in $((SECONDS - start)) s"
cd "$dir/build" || give_up "no $dir/build"

# Out of scope: the benchmark smoke test (root, zram and zswap) and the
# kernel part's judge (shell only: nothing of ours is compiled for it).
tests=$(printf 'uz-print-tests:\n\t@echo $(TESTS)\n' | make -s -f Makefile -f - uz-print-tests |
	tr ' ' '\n' | grep -vxE 'tests/bench_smoke.sh|tests/kernel_judge.sh' | tr '\n' ' ')
[ -n "$tests" ] || give_up "no tests found in $dir/build/Makefile"
# UZ_SAN_TESTS="tests/it/it_stress.sh ...": only those
[ -n "${UZ_SAN_TESTS:-}" ] && tests=$UZ_SAN_TESTS

# Programs under the agent, ours or not (python3, sort, bash), get
# first in LD_PRELOAD the runtime, as ASan insists, and
# tests/lib/san_hot.c, which keeps the agent off ASan's own memory (it
# says why); and no leak check (the harness adds detect_leaks=0:
# tests/it/itest.c says why).
export UZ_TEST_PRELOAD_FIRST=$san_rt:$dir/build/libsan-hot.so
export ASAN_OPTIONS=abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# a race is reported and the test goes on (a report fails it at the end);
# a forked child starts the agent's threads again, which TSan refuses
# after a fork of a process with threads unless told not to; what TSan
# cannot see as ordered is listed, each with its reason, in tsan.supp.
# (Not decorate_proc_maps: it makes TSan's heap a /dev/shm file, which
# the agent cannot move, and real_redis/real_sqlite evicted nothing.)
export TSAN_OPTIONS=second_deadlock_stack=1:report_signal_unsafe=0:die_after_fork=0:suppressions=$dir/src/scripts/tsan.supp
export UZ_SAN_REPORTS=$dir/reports UZ_SAN_TIMEOUT=${UZ_SAN_TIMEOUT:-600}
echo "sanitize: make check ($(echo $tests | wc -w) tests)"
make -j2 check TESTS="$tests" LOG_COMPILER="bash $dir/src/scripts/check-sanitize.sh --one-test" \
	>make-check.out 2>&1
check_summary make-check.out $?
n=$(find "$dir/reports" -type f | wc -l)
[ "$n" -gt 0 ] && echo "sanitize: $n report(s) in $dir/reports:" &&
	find "$dir/reports" -type f -printf '  %f\n' | sort
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
