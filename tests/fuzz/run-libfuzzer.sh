#!/bin/sh
# SPDX-License-Identifier: MIT
# `make fuzz`: run each libFuzzer target for FUZZ_SECONDS, one after the
# other (they would share the cores), and print its executions, speed and
# coverage.  A target's corpus, tests/fuzz/corpus/TARGET in the build
# tree, starts from its driver's --seeds and grows from run to run; its
# regression inputs (tests/fuzz/regress/TARGET) are read as well.  A
# crash, leak or timeout stops here with status 1 and the input's name.
# Environment: srcdir, FUZZ_SECONDS (0: nothing to run), FUZZ_TARGETS.
set -u

srcdir=${srcdir:-.}
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-arena frame msg config}
test "$secs" -gt 0 2>/dev/null || exit 0

# The largest input worth trying: a little past what each target reads.
max_len() {
	case $1 in
	arena) echo 512 ;;	# 8 bytes of file size, then the header
	msg) echo 8200 ;;	# a steering byte and a datagram of 8 KB
	frame) echo 140000 ;;	# steering, descriptor, past frame_bound()
	config) echo 9000 ;;	# lines past UZ_CONFIG_LINE_MAX
	*) echo 4096 ;;
	esac
}

# "KEY: VALUE" of libFuzzer's -print_final_stats=1, or "?".
stat() {
	v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
	echo "${v:-?}"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "fuzz: ${secs} s per target: $targets" \
	"($(date -u '+%Y-%m-%d %H:%M UTC'), load $(load))"
total=0
for t in $targets; do
	bin=tests/fuzz/fuzz_$t-libfuzzer
	corpus=tests/fuzz/corpus/$t
	crashes=tests/fuzz/crashes/$t
	log=tests/fuzz/corpus/$t.log
	regress=$srcdir/tests/fuzz/regress/$t
	mkdir -p "$corpus" "$crashes" || exit 1
	tests/fuzz/fuzz_$t --seeds "$corpus" || exit 1
	test -d "$regress" || regress=

	"$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$corpus" $regress >"$log" 2>&1
	rc=$?

	# the last status line: "#N DONE cov: C ft: F corp: U/SIZE ..."
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	runs=$(stat number_of_executed_units "$log")
	speed=$(stat average_exec_per_sec "$log")
	printf 'fuzz_%-6s %10s runs  %6s exec/s  cov: %-5s ft: %-6s corp: %s  new: %s\n' \
		"$t" "$runs" "$speed" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
		"$(stat new_units_added "$log")"
	case $runs in *[!0-9]*) ;; *) total=$((total + runs)) ;; esac

	if test $rc -ne 0; then
		input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
		echo "fuzz_$t: FAILED (libFuzzer exit $rc); its output: $log"
		grep -E 'ERROR|SUMMARY|^ *#[0-9]+ 0x' "$log" |
			grep -v -e 'fuzzer::' -e '__sanitizer' -e 'libc' | head -n 30
		if test -n "$input"; then
			echo "fuzz_$t: the input is $input"
			echo "fuzz_$t: replay it with: $bin $input"
			echo "fuzz_$t: once fixed, keep it as a regression case:"
			echo "    cp $input $srcdir/tests/fuzz/regress/$t/crash-WHAT"
		fi
		exit 1
	fi
done
echo "fuzz: $total runs in all, no crash, leak or timeout" \
	"($(date -u '+%H:%M UTC'), load $(load))"
