#!/bin/bash
# SPDX-License-Identifier: MIT
# Regression check of kernel/check.sh's judging of the mm selftests and of
# their rerun, judge-only (UZ_JUDGE_LOG / UZ_JUDGE_RERUN_LOG: no build, no
# boot, a few seconds):
#
#   bash kernel/selftests/judge-cases.sh      # exit 0: every case as expected
#
# It runs a copy of check.sh (with list, fragment, results.awk, compare.awk)
# in a temporary directory, on serial logs made from judge-cases.serial (the
# TAP of our five thp_swap_* programs and the blocks of uffd-events,
# pagemap_ioctl and map_fixed_noreplace of real patched runs) with a line or
# two changed, against a stock.expected of
# judge-cases.expected (the stock results of those three programs: all PASS
# but uffd-events[8] and its end FLAKY, pagemap_ioctl 54-59 SKIP; not the
# real stock.expected, whose results change when it is recorded again) under
# a header that matches list, fragment and boot arguments, or does not; and
# compare.awk's merge of two stock runs. awk is mawk when it is installed
# (Debian's awk), or JUDGE_AWK=<awk>. UZ_KWORK points to a directory whose
# out-patched/ must come out untouched, TMPDIR to one that must come out
# empty: judge-only mode works in a private temporary directory.
#
# Each case: label, first log, rerun log, rc, the closing line(s), then the
# first mm selftest lines that are not ok or flaky.
set -uo pipefail
sdir=$(cd "$(dirname "$0")" && pwd)
kdir=${sdir%/selftests}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uzswap-judge-cases.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
ids="uffd-events pagemap_ioctl map_fixed_noreplace"

# awk: mawk unless told otherwise
awkbin=${JUDGE_AWK:-$(command -v mawk || command -v awk)}
mkdir -p "$tmp/bin"
ln -s "$awkbin" "$tmp/bin/awk"
export PATH=$tmp/bin:$PATH
echo "judge-cases: awk is $(readlink -f "$awkbin")"

# a copy of what check.sh reads, with a stock.expected of header $2 and the
# results of judge-cases.expected
kcopy() {	# dir header
	mkdir -p "$1/selftests"
	cp "$kdir/check.sh" "$kdir/config.fragment" "$1/"
	cp "$sdir/list" "$sdir/results.awk" "$sdir/compare.awk" "$1/selftests/"
	{ echo "# judge-cases.sh fixture"; echo "$2"; cat "$sdir/judge-cases.expected"; } \
		>"$1/selftests/stock.expected"
}
hash16() { sha256sum <"$1" | cut -c1-16; }
lh=$(hash16 "$sdir/list")
fh=$(hash16 "$kdir/config.fragment")
# stock.expected of before the boot arguments were recorded; the boot hash
# of today's check.sh is in what its mm:baseline says about that
kcopy "$tmp/k-noboot" "# recorded with list $lh fragment $fh runs 2, last 2026-11-22"
mkdir -p "$tmp/probe"
bh=$(UZ_KWORK=$tmp/probe TMPDIR=$tmp/probe UZ_SELFTESTS=$ids UZ_JUDGE_LOG=$sdir/judge-cases.serial \
	bash "$tmp/k-noboot/check.sh" patched 2>&1 |
	sed -n 's/^not ok 2 stock.expected was recorded with these boot arguments (it has boot -, these runs boot \([0-9a-f]*\):.*/\1/p')
[ -n "$bh" ] || { echo "judge-cases: cannot learn check.sh's boot hash"; exit 1; }
rm -rf "$tmp/probe"
kcopy "$tmp/k" "# recorded with list $lh fragment $fh boot $bh runs 2, last 2026-12-01"
kcopy "$tmp/k-otherboot" "# recorded with list $lh fragment $fh boot 0123456789abcdef runs 2, last 2026-12-01"

# the logs
L=$tmp/logs
mkdir -p "$L"
F=$sdir/judge-cases.serial
block() { sed -n "/^=== SELFTEST BEGIN $1 /,/^=== SELFTEST END $1\$/p" "$F"; }
done_tail() { printf '=== DMESG BEGIN\n[    0.000000] Linux version 6.12\n=== DMESG END\n=== GUEST DONE\n'; }
cp "$F" "$L/base"
# first runs: map_fixed_noreplace[3] fails (stock PASS)
sed '/^=== SELFTEST BEGIN map_fixed_noreplace/,/^=== SELFTEST END/ s/^ok 3 mmap() 5\*PAGE_SIZE at base$/not ok 3 mmap() 5*PAGE_SIZE at base/' "$F" >"$L/mfn3"
# pagemap_ioctl[54] fails (stock SKIP)
sed 's/^ok 54 # SKIP \(Hugetlb shmem testing: all new pages must not be written (dirty)\)$/not ok 54 \1/' "$F" >"$L/pm54"
# a new case, not in stock.expected, fails
sed '/^=== SELFTEST BEGIN map_fixed_noreplace/,/^=== SELFTEST END/ s/^ok 9 Base Address unmap() successful$/&\nnot ok 10 leaked mapping at 0x7ffff7ff4000 still present/' "$F" >"$L/mfnnew"
# uffd-events: "events on anon" fails (stock PASS; the program's end is FLAKY on stock)
sed 's/^Testing events on anon\.\.\. done$/Testing events on anon... failed [reason: crafted]/' "$F" >"$L/ue1"
# reruns
{ block map_fixed_noreplace; done_tail; } >"$L/mfn-ok"
# case 3 passes, case 5 fails, then a segfault (rc 139)
{ echo '=== SELFTEST BEGIN map_fixed_noreplace 139 0'
  block map_fixed_noreplace | sed -n '2,/^ok 4 /p'
  echo 'not ok 5 mmap() 2*PAGE_SIZE  at base+(3*PAGE_SIZE)'
  echo '=== SELFTEST END map_fixed_noreplace'; done_tail; } >"$L/mfn-crash-after4"
# case 3 passes, case 5 fails, the program exits 1 (no crash)
{ block map_fixed_noreplace | sed '1s/ 0 0$/ 1 0/; s/^ok 5 /not ok 5 /'; done_tail; } >"$L/mfn-5fails"
# every case passes, but the program was killed at its timeout (rc 137)
{ block map_fixed_noreplace | sed '1s/ 0 0$/ 137 30/'; done_tail; } >"$L/mfn-killed"
# the guest's kernel WARNs / the guest does not finish
{ block map_fixed_noreplace
  printf '=== DMESG BEGIN\n[   12.000000] WARNING: CPU: 1 PID: 77 at mm/huge_memory.c:1234 foo+0x1/0x2\n=== DMESG END\n=== GUEST DONE\n'; } >"$L/mfn-warn"
block map_fixed_noreplace >"$L/mfn-nodone"
# pagemap_ioctl segfaults after 10 results / is killed at once / runs as in
# the base log (54 SKIPs) / 54 passes
{ echo '=== SELFTEST BEGIN pagemap_ioctl 139 1'
  block pagemap_ioctl | sed -n '2,/^ok 10 /p'
  echo '=== SELFTEST END pagemap_ioctl'; done_tail; } >"$L/pm-crash"
{ printf '=== SELFTEST BEGIN pagemap_ioctl 137 120\n=== SELFTEST END pagemap_ioctl\n'; done_tail; } >"$L/pm-killed"
{ block pagemap_ioctl; done_tail; } >"$L/pm-skip"
{ block pagemap_ioctl | sed 's/^ok 54 # SKIP /ok 54 /'; done_tail; } >"$L/pm-pass"
# a thp_swap_* point skips on the patched kernel / its baseline made no PMD
# swap entry / our tests did not run at all
awk '/^=== TAP BEGIN thp_swap_pmd /{ p = 1 } p && /^ok 3 /{ $0 = "ok 3 # SKIP crafted"; p = 0 } 1' "$F" >"$L/thpskip"
sed 's/^# pageout: thp_swpout_pmd +[0-9]* /# pageout: thp_swpout_pmd +0 /' "$F" >"$L/nopmd"
sed '/^=== TAP BEGIN thp_swap_/,/^=== TAP END thp_swap_/d' "$F" >"$L/nothp"
# a test left state behind that init undid / was killed at its timeout /
# a thp_swap_* point is "not ok # TODO" / the kernel stalled (reviews of
# 2026-12-05: each of these passed)
sed '0,/^=== TAP BEGIN /s//=== CLEANUP after thp_swap_pmd: swapoff \/dev\/thp_swap_async\n&/' "$F" >"$L/leftover"
sed '0,/^=== TAP BEGIN /s//=== TEST thp_swap_pmd TIMEOUT after 600s\n&/' "$F" >"$L/timeout"
awk '/^=== TAP BEGIN thp_swap_pmd /{ p = 1 } p && /^ok 3 /{ sub(/^ok 3 /, "not ok 3 "); $0 = $0 " # TODO crafted"; p = 0 } 1' "$F" >"$L/thptodo"
sed 's/^=== DMESG END$/[   99.000000] rcu: INFO: rcu_preempt detected stalls on CPUs\/tasks:\n&/' "$F" >"$L/stall"
sed 's/^=== DMESG END$/[   99.000000] INFO: task swapoff:77 blocked for more than 120 seconds.\n&/' "$F" >"$L/hung"
# uffd-events: every test passes, then the program is killed (rc 137)
{ block uffd-events | sed '1s/ 0 20$/ 137 90/'; done_tail; } >"$L/ue-killed"

# a sentinel work dir: judge-only must not write there
W=$tmp/kwork
mkdir -p "$W/out-patched/selftests" "$W/out-patched/rerun" "$tmp/t"
echo sentinel >"$W/out-patched/selftests/results"
echo sentinel >"$W/out-patched/selftests/list"
echo sentinel >"$W/out-patched/selftests.tap"
echo sentinel >"$W/out-patched/rerun/results"
before=$(cd "$W" && find . -type f -exec sha256sum {} + | sort)

bad=0
# expected: the closing line(s), "|" between them (counts include mm:baseline's
# 2 points and the thp_swap_* programs' 33; uffd-events has 11 cases,
# pagemap_ioctl 116, map_fixed_noreplace 10)
run() {	# label kdir first rerun rc closing
	local label=$1 k=$2 first=$3 rerun=$4 want_rc=$5 want=$6 rc got
	UZ_KWORK=$W TMPDIR=$tmp/t UZ_SELFTESTS=$ids UZ_JUDGE_LOG=$L/$first \
		UZ_JUDGE_RERUN_LOG=$( [ "$rerun" = - ] || echo "$L/$rerun") \
		bash "$k/check.sh" patched >"$tmp/$label.out" 2>&1
	rc=$?
	got=$(grep -E '^kernel: ([0-9]+ passed|flaky \()' "$tmp/$label.out" | paste -sd '|')
	if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then v=as-expected; else v=MISMATCH; bad=1; fi
	printf '%-28s %-7s %-17s rc %-3s %s\n' "$label" "$first" "$rerun" "$rc" "$v"
	printf '    %s\n' "${got//|/$'\n    '}"
	grep -E '^(not ok|ok .* # FLAKY)' "$tmp/$label.out" | grep -v '^not ok [0-9]* mm:' | head -n 4 | cut -c1-150 | sed 's/^/      /'
	[ "$v" = as-expected ] || printf '    wanted rc %s: %s\n' "$want_rc" "$want"
}
flk() { echo "kernel: flaky (failed once, passed on rerun): $1|"; }
M3='map_fixed_noreplace[3] mmap() 5*PAGE_SIZE at base'
P54='pagemap_ioctl[54] Hugetlb shmem testing: all new pages must not be written (dirty)'

run base-clean                 "$tmp/k" base   -                0 'kernel: 166 passed, 0 failed, 6 skipped'
run A-stockpass-rerunok        "$tmp/k" mfn3   mfn-ok           0 "$(flk "$M3")kernel: 165 passed, 0 failed, 6 skipped, 1 flaky"
run B-stockpass-reruncrash     "$tmp/k" mfn3   mfn-crash-after4 1 'kernel: 165 passed, 7 failed, 6 skipped'
run C-stockskip-reruncrash     "$tmp/k" pm54   pm-crash         1 'kernel: 166 passed, 101 failed, 5 skipped'
run C2-stockskip-rerunkilled   "$tmp/k" pm54   pm-killed        1 'kernel: 166 passed, 112 failed, 5 skipped'
run C3-stockskip-rerunskips    "$tmp/k" pm54   pm-skip          1 'kernel: 166 passed, 1 failed, 5 skipped'
run C4-stockskip-rerunpasses   "$tmp/k" pm54   pm-pass          0 "$(flk "$P54")kernel: 166 passed, 0 failed, 5 skipped, 1 flaky"
run D-newcase-rerunok          "$tmp/k" mfnnew mfn-ok           1 'kernel: 166 passed, 1 failed, 6 skipped'
run E-rerun-warning            "$tmp/k" mfn3   mfn-warn         1 'kernel: 165 passed, 2 failed, 6 skipped'
run F-rerun-nodone             "$tmp/k" mfn3   mfn-nodone       1 'kernel: 165 passed, 2 failed, 6 skipped'
run G-no-rerun-log             "$tmp/k" mfn3   -                1 'kernel: 165 passed, 1 failed, 6 skipped'
run H-rerun-newfail            "$tmp/k" mfn3   mfn-5fails       1 "$(flk "$M3")kernel: 165 passed, 1 failed, 6 skipped, 1 flaky"
run I-rerun-killed             "$tmp/k" mfn3   mfn-killed       1 'kernel: 165 passed, 2 failed, 6 skipped'
run J-stockflakyend-killed     "$tmp/k" ue1    ue-killed        1 'kernel: 165 passed, 2 failed, 6 skipped'
run K-header-without-boot      "$tmp/k-noboot" base -           1 'kernel: 165 passed, 1 failed, 6 skipped'
run L-header-other-boot        "$tmp/k-otherboot" base -        1 'kernel: 165 passed, 1 failed, 6 skipped'
run N-thp-skip-patched         "$tmp/k" thpskip -               1 'kernel: 165 passed, 1 failed, 6 skipped'
run O-no-pmd-swap-entries      "$tmp/k" nopmd  -                1 'kernel: 166 passed, 1 failed, 6 skipped'
run P-thp-tests-missing        "$tmp/k" nothp  -                1 'kernel: 133 passed, 1 failed, 6 skipped'
run Q-test-left-state          "$tmp/k" leftover -              1 'kernel: 166 passed, 1 failed, 6 skipped'
run R-test-timed-out           "$tmp/k" timeout -               1 'kernel: 166 passed, 1 failed, 6 skipped'
run S-thp-todo-patched         "$tmp/k" thptodo -               1 'kernel: 165 passed, 1 failed, 6 skipped'
run T-rcu-stall                "$tmp/k" stall  -                1 'kernel: 166 passed, 1 failed, 6 skipped'
run U-hung-task                "$tmp/k" hung   -                1 'kernel: 166 passed, 1 failed, 6 skipped'
for label in K-header-without-boot L-header-other-boot; do
	grep -q '^not ok 2 stock.expected was recorded with these boot arguments .*re-run make -C kernel check-stock)$' \
		"$tmp/$label.out" || { echo "$label: no 'not ok 2 ... re-run make -C kernel check-stock' line"; bad=1; }
done

# the merge of two stock runs (compare.awk flavour=stock, as check-stock
# does it): uffd-events hangs in events-wp on shmem in one run (as stock did
# on 2026-12-01) and passes in the other; in either order, the cases of the
# hung run from there on become FLAKY, and so does its end
sed '/^=== SELFTEST BEGIN uffd-events/,/^=== SELFTEST END/ {
	s/^=== SELFTEST BEGIN uffd-events 0 20$/=== SELFTEST BEGIN uffd-events 137 90/
	s/^Testing events-wp on shmem\.\.\. done$/Testing events-wp on shmem... ERROR: nr 1363 memory corruption 0 1\n (errno=0, @uffd-unit-tests.c:732)\nKilled/
	/^Testing events-wp on shmem-private/,/^Userfaults unit tests/d
}' "$F" >"$L/ue-hang"
merge() {	# first-log second-log: uffd-events' merged statuses, "n:status" sorted
	local m=$tmp/merge
	mkdir -p "$m"
	: >"$m/none"
	awk -f "$sdir/results.awk" "$L/$1" >"$m/r1"
	awk -f "$sdir/results.awk" "$L/$2" >"$m/r2"
	awk -v flavour=stock -v expfile="$m/none" -v newexp="$m/e1" -f "$sdir/compare.awk" "$m/none" "$m/r1" >/dev/null
	awk -v flavour=stock -v expfile="$m/e1" -v newexp="$m/e2" -f "$sdir/compare.awk" "$m/e1" "$m/r2" >/dev/null
	awk -F'\t' '$1 == "uffd-events" { print $2 ":" $3 }' "$m/e2" | sort -n | paste -sd ' '
}
want='end:FLAKY 1:PASS 2:PASS 3:PASS 4:PASS 5:PASS 6:PASS 7:FLAKY 8:FLAKY 9:FLAKY 10:FLAKY'
for order in "base ue-hang" "ue-hang base"; do
	got=$(merge $order)
	if [ "$got" = "$want" ]; then v=as-expected; else v=MISMATCH; bad=1; fi
	printf '%-28s %-25s %s\n    uffd-events: %s\n' "M-stock-merge" "$order" "$v" "$got"
	[ "$v" = as-expected ] || printf '    wanted:      %s\n' "$want"
done

after=$(cd "$W" && find . -type f -exec sha256sum {} + | sort)
if [ "$before" = "$after" ] && [ -z "$(ls -A "$tmp/t")" ]; then
	echo "isolation: \$UZ_KWORK/out-patched untouched, no temporary directory left: as-expected"
else
	echo "isolation: MISMATCH (UZ_KWORK changed or a temporary directory was left)"
	diff <(echo "$before") <(echo "$after")
	ls -la "$tmp/t"
	bad=1
fi
[ "$bad" = 0 ] && echo "judge-cases: all as expected" || echo "judge-cases: MISMATCH (outputs were in $tmp, now removed)"
exit "$bad"
