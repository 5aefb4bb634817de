// SPDX-License-Identifier: MIT
/*
 * thp_swap_baseline - swap 64 MB of PMD-mapped THPs out with MADV_PAGEOUT and
 * read them back, checking every byte and the vmstat counters.
 *
 * On a stock 6.12 kernel the data survives but the huge mappings do not:
 * reclaim splits each PMD into 512 PTE swap entries (thp_split_pmd goes up)
 * and swap-in brings the memory back as 4 KB pages (AnonHugePages drops to
 * 0). The test reports that as diagnostics. On a kernel with uzswap's PMD
 * swap entry series, which adds the vmstat counter "thp_swpin_pmd", it also
 * asserts that the huge mappings survive: no split, one PMD swap-in per THP,
 * AnonHugePages back to 64 MB. Without that counter the assertion is a SKIP.
 * The pattern (thp_swap.h) gives every 8-byte word its own value: no page is
 * zero- or same-filled (those never reach the swap device), and every
 * misplaced page is caught.
 */
#include <time.h>

#include "thp_swap.h"

#define AREA_SIZE	(64UL << 20)
#define NR_THPS		(AREA_SIZE / PMD_SIZE)
#define NR_PAGES	(AREA_SIZE / PAGE_SZ)
#define AREA_KB		(AREA_SIZE >> 10)
#define SEED		0x75a5c0de00000000ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct vm_snap v0, v1, v2;
	long thp_before, thp_after, swap_kb;
	char buf[128];
	double t;
	size_t bad;
	char *a;

	ksft_print_header();
	ksft_set_plan(5);

	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)))
		ksft_exit_skip_rest("kernel without transparent huge pages");
	if (strstr(buf, "[never]"))
		ksft_exit_skip_rest("transparent_hugepage is [never]");
	if (read_file("/proc/swaps", buf, sizeof(buf)) || !buf[0])
		ksft_exit_skip_rest("no /proc/swaps");
	snap(&v0);
	if (v0.v[V_SPLIT_PMD] < 0 || v0.v[V_PSWPOUT] < 0)
		ksft_exit_skip_rest("no vmstat event counters (CONFIG_VM_EVENT_COUNTERS)");
	if (!read_file("/sys/module/zswap/parameters/enabled", buf, sizeof(buf)))
		ksft_print_msg("zswap enabled: %s\n", buf);

	a = map_thp(AREA_SIZE);
	if (!a)
		ksft_exit_fail_msg("mmap/madvise(MADV_HUGEPAGE) of 64 MB: %s", strerror(errno));

	/* 1: the area is PMD-mapped THPs */
	t = now();
	fill(a, AREA_SIZE, SEED);
	thp_before = smaps_kb(a, "AnonHugePages");
	ksft_print_msg("fill: %.3f s, AnonHugePages %ld kB\n", now() - t, thp_before);
	ksft_test_result(thp_before == (long)AREA_KB,
			 "64 MB area is THP-backed before swap-out (%ld kB)", thp_before);

	/* 2: MADV_PAGEOUT takes all of it to swap */
	snap(&v0);
	t = now();
	if (madvise(a, AREA_SIZE, MADV_PAGEOUT))
		ksft_exit_fail_msg("madvise(MADV_PAGEOUT): %s", strerror(errno));
	snap(&v1);
	swap_kb = smaps_kb(a, "Swap");
	ksft_print_msg("pageout: %.3f s, Swap %ld kB, AnonHugePages %ld kB\n",
		       now() - t, swap_kb, smaps_kb(a, "AnonHugePages"));
	print_snap_delta("pageout", &v0, &v1);
	ksft_test_result(swap_kb == (long)AREA_KB &&
			 d(&v0, &v1, V_PSWPOUT) >= (long long)NR_PAGES,
			 "MADV_PAGEOUT swapped out all 64 MB (Swap %ld kB, pswpout +%lld)",
			 swap_kb, d(&v0, &v1, V_PSWPOUT));

	/* 3: every byte comes back */
	t = now();
	bad = check(a, AREA_SIZE, SEED, "read back");
	snap(&v2);
	ksft_print_msg("read back: %.3f s\n", now() - t);
	print_snap_delta("swap-in", &v1, &v2);
	ksft_test_result(bad == 0, "contents intact after swap-in (%zu bad words)", bad);

	/* 4: and it came back from swap, not from somewhere else */
	swap_kb = smaps_kb(a, "Swap");
	ksft_test_result(swap_kb == 0 && d(&v1, &v2, V_PSWPIN) >= (long long)NR_PAGES,
			 "area swapped back in (Swap %ld kB, pswpin +%lld)",
			 swap_kb, d(&v1, &v2, V_PSWPIN));

	/* 5: the huge mappings: split on stock 6.12, kept with the series */
	thp_after = smaps_kb(a, "AnonHugePages");
	ksft_print_msg("AnonHugePages %ld kB before swap-out, %ld kB after swap-in\n",
		       thp_before, thp_after);
	ksft_print_msg("PMDs split during swap-out/in: %lld of %lu THPs\n",
		       d(&v0, &v2, V_SPLIT_PMD), NR_THPS);
	/* the counter the series adds: its presence selects the assertion */
	if (v2.v[V_SWPIN_PMD] < 0 || d(&v0, &v1, V_SWPOUT_PMD) == 0) {
		if (d(&v0, &v2, V_SPLIT_PMD) > 0 && thp_after == 0)
			ksft_print_msg("stock behaviour: PMDs split on swap-out, memory back as 4 KB pages\n");
		/* the series before its last patch has the counters, no producer */
		ksft_test_result_skip(v2.v[V_SWPIN_PMD] < 0 ?
				      "kernel has no thp_swpin_pmd (no PMD swap entries)" :
				      "kernel made no PMD swap entry (thp_swpout_pmd +0)",
				      "huge mappings kept across swap-out/in");
	} else {
		long long split = d(&v0, &v2, V_SPLIT_PMD);
		long long pmd_in = d(&v1, &v2, V_SWPIN_PMD);

		ksft_test_result(split == 0 && pmd_in == (long long)NR_THPS &&
				 thp_after == (long)AREA_KB,
				 "huge mappings kept across swap-out/in (split +%lld, "
				 "thp_swpin_pmd +%lld, AnonHugePages %ld kB)",
				 split, pmd_in, thp_after);
	}

	munmap(a, AREA_SIZE);
	ksft_finished();
}
