// SPDX-License-Identifier: MIT
/*
 * thp_swap_zz_fallback - where a PMD-order resource is missing, PMD swap
 * entries fall back to the split and PTE path, and the data survives:
 *
 *   1. no PMD-order folio on swap-in (fail_page_alloc fails order-9
 *      allocations of this task): the entry is split, the THP comes back
 *      as 4 KB pages (thp_swpin_pmd_fallback);
 *   2. fragmented swap: no free 2 MB cluster, so the THP cannot be written
 *      out whole (thp_swpout_fallback) and is split before swap-out;
 *   3. zswap enabled: swap-out splits the PMD (thp_swpout_pmd_fallback);
 *   4. zswap enabled after a THP was swapped out as a PMD swap entry: the
 *      entry is split on swap-in (thp_swpin_pmd_fallback).
 *
 * zswap cannot be turned back into "never enabled": after this test every
 * PMD swap-in of the boot falls back. Hence the name: it runs last.
 *
 * Skips on a kernel without PMD swap entries (no thp_swpout_pmd counter).
 */
#include <sys/mount.h>
#include <time.h>

#include "thp_swap.h"

#define LEN	(8UL << 20)
#define NR_THP	(LEN / PMD_SIZE)
#define LEN_KB	((long)(LEN >> 10))
#define ZSWAP	"/sys/module/zswap/parameters/enabled"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* order >= 9 allocations of this task fail while 'on' */
static int fail_pmd_order(int on)
{
	if (!on)
		return write_file("/proc/self/make-it-fail", "0") |
		       fail_pmd_order_tasks(0);
	return fail_pmd_order_tasks(1) ||
	       write_file("/proc/self/make-it-fail", "1");
}

/*
 * Use up every free 2 MB cluster of swap with 4 KB pages, then free 15 of
 * each 16 of them: plenty of free slots, no free cluster. The pages are
 * same-filled, so zram keeps no data for them. Returns the mapping.
 */
static char *fragment_swap(size_t *lenp)
{
	const size_t chunk = 16UL << 20;
	long free_kb = meminfo_kb("SwapFree");
	size_t len, off, i;
	char *p;

	if (free_kb <= 0)
		return NULL;
	len = ((size_t)free_kb << 10) + chunk;
	len -= len % chunk;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (off = 0; off < len; off += chunk) {
		memset(p + off, 0x5a, chunk);
		madvise(p + off, chunk, MADV_PAGEOUT);
		/*
		 * Swap full: what did not fit stays in memory until the pass
		 * below (a MADV_DONTNEED of this whole chunk would free its
		 * slots again, and whole free clusters with them).
		 */
		if (meminfo_kb("SwapFree") < 64)
			break;
	}
	for (i = 0; i < len / PAGE_SZ; i += 16)
		madvise(p + (i + 1) * PAGE_SZ, 15 * PAGE_SZ, MADV_DONTNEED);
	*lenp = len;
	return p;
}

int main(void)
{
	struct vm_snap s0, s1, s2;
	char buf[32], *a, *b, *frag;
	size_t bad, flen = 0;
	double t;
	int ok;

	ksft_print_header();
	ksft_set_plan(4);
	require_pmd_swap();

	/* 1: no PMD-order folio for the swap-in: split, PTE path */
	a = swapped_area(LEN, 1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	if (fail_pmd_order(1)) {
		fail_pmd_order(0);
		ksft_test_result_skip("no fail_page_alloc in debugfs (CONFIG_FAIL_PAGE_ALLOC)",
				      "PMD-order allocation failure on swap-in");
	} else {
		snap(&s0);
		bad = check(a, LEN, 1, "read back without THPs");
		snap(&s1);
		fail_pmd_order(0);
		print_snap_delta("swap-in, order-9 allocations failing", &s0, &s1);
		ksft_test_result(!bad && d(&s0, &s1, V_SWPIN_PMD_FB) == (long long)NR_THP &&
				 d(&s0, &s1, V_SWPIN_PMD) == 0 &&
				 d(&s0, &s1, V_SPLIT_PMD) == (long long)NR_THP,
				 "PMD-order allocation failure on swap-in: entries split (thp_swpin_pmd_fallback +%lld), contents intact",
				 d(&s0, &s1, V_SWPIN_PMD_FB));
	}
	munmap(a, LEN);

	/* 2: no free swap cluster: the THP is split before swap-out */
	t = now();
	frag = fragment_swap(&flen);
	ksft_print_msg("fragmenting swap: %.1f s, SwapFree %ld of %ld kB\n", now() - t,
		       meminfo_kb("SwapFree"), meminfo_kb("SwapTotal"));
	a = thp_area(LEN, 2);
	if (!frag || !a)
		ksft_exit_fail_msg("could not fragment swap");
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	bad = check(a, LEN, 2, "after swap-out from fragmented swap");
	snap(&s2);
	print_snap_delta("pageout, fragmented swap", &s0, &s1);
	ksft_test_result(ok && !bad && d(&s0, &s1, V_THP_SWPOUT_FB) >= 1 &&
			 d(&s0, &s1, V_SWPOUT_PMD) < (long long)NR_THP &&
			 d(&s0, &s1, V_PSWPOUT) >= 1,
			 "fragmented swap: THPs split before swap-out (thp_swpout_fallback +%lld, thp_swpout_pmd +%lld), contents intact",
			 d(&s0, &s1, V_THP_SWPOUT_FB), d(&s0, &s1, V_SWPOUT_PMD));
	munmap(a, LEN);
	munmap(frag, flen);

	/* 3, 4: zswap; one area swapped out as PMD entries before it is on */
	b = swapped_area(LEN, 4);
	if (!b)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	if (write_file(ZSWAP, "Y") || read_file(ZSWAP, buf, sizeof(buf)) || buf[0] != 'Y') {
		ksft_test_result_skip("cannot enable zswap", "zswap enabled: swap-out splits");
		ksft_test_result_skip("cannot enable zswap", "zswap enabled: swap-in splits");
		munmap(b, LEN);
		ksft_finished();
	}
	a = thp_area(LEN, 3);
	if (!a)
		ksft_exit_fail_msg("could not map a THP area");
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	bad = check(a, LEN, 3, "zswap round trip");
	print_snap_delta("pageout, zswap on", &s0, &s1);
	ksft_test_result(ok && !bad && d(&s0, &s1, V_SWPOUT_PMD) == 0 &&
			 d(&s0, &s1, V_SWPOUT_PMD_FB) == (long long)NR_THP &&
			 d(&s0, &s1, V_SPLIT_PMD) == (long long)NR_THP,
			 "zswap enabled: swap-out splits the PMDs (thp_swpout_pmd_fallback +%lld), contents intact",
			 d(&s0, &s1, V_SWPOUT_PMD_FB));
	munmap(a, LEN);

	snap(&s0);
	bad = check(b, LEN, 4, "PMD entries read with zswap on");
	snap(&s1);
	print_snap_delta("swap-in, zswap on", &s0, &s1);
	ksft_test_result(!bad && d(&s0, &s1, V_SWPIN_PMD_FB) == (long long)NR_THP &&
			 d(&s0, &s1, V_SWPIN_PMD) == 0,
			 "zswap enabled: PMD swap entries split on swap-in (thp_swpin_pmd_fallback +%lld), contents intact",
			 d(&s0, &s1, V_SWPIN_PMD_FB));
	munmap(b, LEN);
	write_file(ZSWAP, "N");

	ksft_finished();
}
