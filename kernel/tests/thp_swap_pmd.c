// SPDX-License-Identifier: MIT
/*
 * thp_swap_pmd - PMD swap entries in one process: swap-out keeps the PMD,
 * pagemap sees a real swap entry, a read or write fault brings the whole
 * THP back at once, repeated cycles, and what mprotect, mremap, munmap and
 * MADV_FREE do to a swapped-out THP (whole, or part of it: then the entry
 * is split and only that THP goes the PTE way). Every point checks the
 * contents word by word and the vmstat counters. MADV_COLLAPSE takes a
 * swapped-out THP for a THP already; MADV_COLD, MADV_PAGEOUT and mbind
 * leave it alone; MADV_WILLNEED reads it into the swap cache whole. With
 * THP switched off in sysfs after the swap-out, the fault brings small
 * pages back, as a fresh fault would (the setting is obeyed); with THP
 * switched off for the range (MADV_NOHUGEPAGE), MADV_WILLNEED reads no
 * THP into the swap cache that the fault could not map whole.
 *
 * Skips on a kernel without PMD swap entries (no thp_swpout_pmd counter).
 */
#include <sys/syscall.h>

#include "thp_swap.h"

#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1; older C library headers lack it */
#endif

#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

#define LEN	(8UL << 20)
#define NR_THP	(LEN / PMD_SIZE)
#define LEN_KB	((long)(LEN >> 10))

/* the 4 KB swap entry of one page, to learn the swap type pagemap reports */
static int small_swap_type(void)
{
	uint64_t ent = 0;
	char *p;
	int fd, type = -1;

	p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0x5a, PAGE_SZ);
	p[7] = 1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0 && !pageout(p, PAGE_SZ) &&
	    pread(fd, &ent, 8, (unsigned long)p / PAGE_SZ * 8) == 8 &&
	    (ent >> 62 & 1))
		type = ent & 31;
	if (fd >= 0)
		close(fd);
	munmap(p, PAGE_SZ);
	return type;
}

/*
 * pagemap of a swapped-out area: every page swapped (bit 62), not present
 * (bit 63), of the swap type a 4 KB swapped page has (not a migration
 * entry's), and each THP's 512 offsets consecutive from a 512-aligned one.
 */
static int pagemap_ok(const char *a, size_t len, int want_type)
{
	size_t n = len / PAGE_SZ, i;
	uint64_t *ent = calloc(n, 8), base = 0;
	int fd, ok = 1;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || !ent ||
	    pread(fd, ent, n * 8, (unsigned long)a / PAGE_SZ * 8) != (ssize_t)(n * 8)) {
		ksft_print_msg("pagemap: %s\n", strerror(errno));
		ok = 0;
		goto out;
	}
	for (i = 0; i < n && ok; i++) {
		uint64_t e = ent[i], type = e & 31, off = (e & ((1ULL << 55) - 1)) >> 5;

		if (i % NR_SUB == 0)
			base = off;
		if (!(e >> 62 & 1) || (e >> 63 & 1) || (int)type != want_type ||
		    base % NR_SUB || off != base + i % NR_SUB) {
			ksft_print_msg("pagemap: page %zu: %#llx (type %llu, offset %#llx; want swapped, type %d, offset %#llx)\n",
				       i, (unsigned long long)e, (unsigned long long)type,
				       (unsigned long long)off, want_type,
				       (unsigned long long)(base + i % NR_SUB));
			ok = 0;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(ent);
	return ok;
}

int main(void)
{
	struct vm_snap s0, s1, s2;
	long thp, swap, sf0, sf1, mj;
	char *a, *b;
	int ok, type, c;
	size_t bad;

	ksft_print_header();
	ksft_set_plan(17);
	require_pmd_swap();

	/* 1: swap-out installs one PMD swap entry per THP */
	a = thp_area_paged_out(LEN, 1, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	print_snap_delta("pageout", &s0, &s1);
	ksft_test_result(out_as_pmds(a, LEN, &s0, &s1),
			 "MADV_PAGEOUT swaps %lu THPs out as PMD swap entries", NR_THP);

	/* 2: pagemap reports them as swapped, with real swap offsets */
	type = small_swap_type();
	ksft_print_msg("swap type of a 4 KB swapped page: %d\n", type);
	{
		unsigned char vec[LEN / PAGE_SZ];
		size_t i, incore = 0;

		if (mincore(a, LEN, vec))
			incore = LEN / PAGE_SZ;
		for (i = 0; i < LEN / PAGE_SZ; i++)
			incore += vec[i] & 1;
		ksft_test_result(type >= 0 && pagemap_ok(a, LEN, type) && !incore,
				 "pagemap: swapped, swap type %d, consecutive 512-aligned offsets; mincore: %zu pages in core",
				 type, incore);
	}

	/* 3: a read fault maps each THP back whole: one major fault per THP */
	mj = majflt();
	bad = check(a, LEN, 1, "read back");
	mj = majflt() - mj;
	snap(&s2);
	print_snap_delta("read back", &s1, &s2);
	thp = smaps_kb(a, "AnonHugePages");
	swap = smaps_kb(a, "Swap");
	ksft_test_result(!bad && d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
			 d(&s1, &s2, V_SWPIN_PMD_FB) == 0 &&
			 d(&s1, &s2, V_SPLIT_PMD) == 0 && mj == (long)NR_THP &&
			 thp == LEN_KB && swap == 0,
			 "read fault: contents intact, thp_swpin_pmd +%lld, %ld major faults, AnonHugePages %ld kB, Swap %ld kB",
			 d(&s1, &s2, V_SWPIN_PMD), mj, thp, swap);

	/* 4: three more cycles of new contents, swap-out, swap-in */
	ok = 1;
	for (c = 0; c < 3; c++) {
		fill(a, LEN, 100 + c);
		snap(&s0);
		if (pageout(a, LEN))
			ok = 0;
		snap(&s1);
		if (!out_as_pmds(a, LEN, &s0, &s1))
			ok = 0;
		if (check(a, LEN, 100 + c, "cycle"))
			ok = 0;
		snap(&s2);
		if (d(&s1, &s2, V_SWPIN_PMD) != (long long)NR_THP ||
		    d(&s0, &s2, V_SPLIT_PMD) != 0 ||
		    smaps_kb(a, "AnonHugePages") != LEN_KB) {
			print_snap_delta("cycle", &s0, &s2);
			ok = 0;
		}
	}
	ksft_test_result(ok, "3 more swap-out/swap-in cycles keep the PMDs and the contents");

	/* 5: a write fault maps the THP writable at once: no second fault */
	fill(a, LEN, 5);
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	ok = ok && out_as_pmds(a, LEN, &s0, &s1);
	mj = majflt();
	{
		const size_t mid = PMD_SIZE / 16;	/* a word in the middle */
		struct rusage r0, r1;
		long minflt = 0;
		size_t k, w;

		for (k = 0; k < NR_THP; k++) {
			uint64_t *t = (uint64_t *)(a + k * PMD_SIZE);

			w = k * PMD_SIZE / 8;
			t[17] = ~pat(5, w + 17);
			getrusage(RUSAGE_SELF, &r0);
			t[mid] = ~pat(5, w + mid);
			getrusage(RUSAGE_SELF, &r1);
			minflt += r1.ru_minflt - r0.ru_minflt;
			if (t[17] != ~pat(5, w + 17))
				ok = 0;
			t[17] = pat(5, w + 17);
			t[mid] = pat(5, w + mid);
		}
		mj = majflt() - mj;
		snap(&s2);
		print_snap_delta("write fault", &s1, &s2);
		bad = check(a, LEN, 5, "after write faults");
		ksft_test_result(ok && !bad && mj == (long)NR_THP && minflt == 0 &&
				 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
				 d(&s1, &s2, V_SPLIT_PMD) == 0 &&
				 smaps_kb(a, "AnonHugePages") == LEN_KB,
				 "write fault: mapped writable at once (%ld major, %ld more faults), thp_swpin_pmd +%lld",
				 mj, minflt, d(&s1, &s2, V_SWPIN_PMD));
	}

	/* 6: mprotect of the whole swapped-out range, read, then write */
	fill(a, LEN, 6);
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	ok = ok && out_as_pmds(a, LEN, &s0, &s1);
	ok = ok && !mprotect(a, LEN, PROT_READ);
	bad = check(a, LEN, 6, "read-only");
	ok = ok && !mprotect(a, LEN, PROT_READ | PROT_WRITE);
	fill(a, LEN, 66);
	bad += check(a, LEN, 66, "written after mprotect");
	snap(&s2);
	print_snap_delta("mprotect", &s1, &s2);
	ksft_test_result(ok && !bad && d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
			 d(&s1, &s2, V_SPLIT_PMD) == 0 &&
			 smaps_kb(a, "AnonHugePages") == LEN_KB,
			 "mprotect(PROT_READ) of swapped-out THPs: read back as PMDs, written after PROT_WRITE without a split");

	/* 7: mprotect of part of one swapped-out THP splits that one only */
	fill(a, LEN, 7);
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	ok = ok && out_as_pmds(a, LEN, &s0, &s1);
	ok = ok && !mprotect(a + PMD_SIZE / 4, PMD_SIZE / 2, PROT_READ);
	bad = check(a, LEN, 7, "partly read-only");
	ok = ok && !mprotect(a, LEN, PROT_READ | PROT_WRITE);
	snap(&s2);
	print_snap_delta("partial mprotect", &s1, &s2);
	ksft_test_result(ok && !bad && d(&s1, &s2, V_SPLIT_PMD) == 1 &&
			 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP - 1,
			 "mprotect of 1 MB of a swapped-out THP: that entry split (+%lld), %lld others back as PMDs",
			 d(&s1, &s2, V_SPLIT_PMD), d(&s1, &s2, V_SWPIN_PMD));

	/* 8: mremap moves the swapped-out THPs whole (a fresh area: 7 left 4 KB pages) */
	munmap(a, LEN);
	a = thp_area_paged_out(LEN, 8, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	b = map_thp(LEN);
	if (!b || mremap(a, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, b) != b) {
		ksft_print_msg("mremap: %s\n", strerror(errno));
		ksft_exit_fail_msg("mremap of the swapped-out area failed");
	}
	a = b;
	swap = smaps_kb(a, "Swap");
	bad = check(a, LEN, 8, "after mremap");
	snap(&s2);
	print_snap_delta("mremap", &s1, &s2);
	ksft_test_result(ok && !bad && swap == LEN_KB && d(&s1, &s2, V_SPLIT_PMD) == 0 &&
			 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
			 smaps_kb(a, "AnonHugePages") == LEN_KB,
			 "mremap moves the PMD swap entries whole (Swap %ld kB at the new place, no split)",
			 swap);

	/* 9: munmap frees the slots of the PMD swap entries */
	fill(a, LEN, 9);
	snap(&s0);
	ok = !pageout(a, LEN);
	snap(&s1);
	ok = ok && out_as_pmds(a, LEN, &s0, &s1);
	sf0 = meminfo_kb("SwapFree");
	munmap(a, LEN);
	sf1 = meminfo_kb("SwapFree");
	snap(&s2);
	ksft_test_result(ok && sf1 - sf0 == LEN_KB && d(&s1, &s2, V_SPLIT_PMD) == 0,
			 "munmap of swapped-out THPs frees their slots (SwapFree +%ld kB)", sf1 - sf0);

	/* 10: munmap of part of one swapped-out THP */
	a = thp_area_paged_out(LEN, 10, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	sf0 = meminfo_kb("SwapFree");
	munmap(a + PMD_SIZE / 2, PMD_SIZE / 2);
	sf1 = meminfo_kb("SwapFree");
	bad = check(a, PMD_SIZE / 2, 10, "below the hole");
	bad += check_from(a + PMD_SIZE, LEN - PMD_SIZE, 10, PMD_SIZE / 8, "above the hole");
	snap(&s2);
	print_snap_delta("partial munmap", &s1, &s2);
	ksft_test_result(ok && !bad && sf1 - sf0 == (long)(PMD_SIZE / 2 >> 10) &&
			 d(&s1, &s2, V_SPLIT_PMD) == 1 &&
			 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP - 1,
			 "munmap of 1 MB of a swapped-out THP: split, its slots freed (SwapFree +%ld kB), the rest intact",
			 sf1 - sf0);
	munmap(a, LEN);

	/* 11: MADV_FREE of swapped-out THPs drops them and their slots */
	a = thp_area_paged_out(LEN, 11, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	sf0 = meminfo_kb("SwapFree");
	ok = ok && !madvise(a, LEN, MADV_FREE);
	sf1 = meminfo_kb("SwapFree");
	swap = smaps_kb(a, "Swap");
	bad = nonzero(a, LEN);
	snap(&s2);
	print_snap_delta("MADV_FREE", &s1, &s2);
	ksft_test_result(ok && !bad && swap == 0 && sf1 - sf0 == LEN_KB &&
			 d(&s1, &s2, V_SPLIT_PMD) == 0,
			 "MADV_FREE of swapped-out THPs: slots freed (SwapFree +%ld kB, Swap %ld kB), reads zero (%zu nonzero words)",
			 sf1 - sf0, swap, bad);
	munmap(a, LEN);

	/* 12: MADV_FREE of part of one */
	a = thp_area_paged_out(LEN, 12, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	sf0 = meminfo_kb("SwapFree");
	ok = ok && !madvise(a, PMD_SIZE / 2, MADV_FREE);
	sf1 = meminfo_kb("SwapFree");
	bad = nonzero(a, PMD_SIZE / 2);
	bad += check_from(a + PMD_SIZE / 2, LEN - PMD_SIZE / 2, 12, PMD_SIZE / 16, "after partial MADV_FREE");
	snap(&s2);
	print_snap_delta("partial MADV_FREE", &s1, &s2);
	ksft_test_result(ok && !bad && sf1 - sf0 == (long)(PMD_SIZE / 2 >> 10) &&
			 d(&s1, &s2, V_SPLIT_PMD) == 1,
			 "MADV_FREE of 1 MB of a swapped-out THP: split, that part freed (SwapFree +%ld kB) and zero, the rest intact",
			 sf1 - sf0);
	munmap(a, LEN);

	/* 13: MADV_COLLAPSE finds a swapped-out THP already huge */
	a = thp_area_paged_out(LEN, 13, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	errno = 0;
	c = madvise(a, LEN, MADV_COLLAPSE);
	if (c)
		ksft_print_msg("MADV_COLLAPSE: %s\n", strerror(errno));
	swap = smaps_kb(a, "Swap");
	bad = check(a, LEN, 13, "after MADV_COLLAPSE");
	snap(&s2);
	print_snap_delta("MADV_COLLAPSE", &s1, &s2);
	ksft_test_result(ok && c == 0 && swap == LEN_KB && !bad &&
			 d(&s1, &s2, V_SPLIT_PMD) == 0 &&
			 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP,
			 "MADV_COLLAPSE of swapped-out THPs: success, nothing swapped in or split (Swap %ld kB)",
			 swap);
	munmap(a, LEN);

	/* 14: MADV_COLD, MADV_PAGEOUT again and mbind(MPOL_MF_MOVE) leave them be */
	a = thp_area_paged_out(LEN, 14, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	{
		unsigned long node0 = 1;
		long mb;

		ok = ok && !madvise(a, LEN, MADV_COLD) && !madvise(a, LEN, MADV_PAGEOUT);
		mb = syscall(SYS_mbind, a, LEN, MPOL_BIND, &node0, 8 * sizeof(node0),
			     MPOL_MF_MOVE);
		if (mb)
			ksft_print_msg("mbind: %s\n", strerror(errno));
		swap = smaps_kb(a, "Swap");
		snap(&s2);
		print_snap_delta("MADV_COLD, MADV_PAGEOUT, mbind", &s1, &s2);
		ok = ok && (mb == 0 || errno == ENOSYS) && swap == LEN_KB &&
		     d(&s1, &s2, V_SPLIT_PMD) == 0 && d(&s1, &s2, V_SWPIN_PMD) == 0 &&
		     d(&s1, &s2, V_PSWPIN) == 0;
		bad = check(a, LEN, 14, "after MADV_COLD, MADV_PAGEOUT, mbind");
		ksft_test_result(ok && !bad,
				 "MADV_COLD, MADV_PAGEOUT and mbind(MPOL_MF_MOVE) of swapped-out THPs: nothing split or read in (Swap %ld kB)",
				 swap);
	}
	munmap(a, LEN);

	/* 15: MADV_WILLNEED reads them into the swap cache whole */
	a = thp_area_paged_out(LEN, 15, &s0, &s1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	ok = out_as_pmds(a, LEN, &s0, &s1);
	ok = ok && !madvise(a, LEN, MADV_WILLNEED);
	snap(&s2);
	{
		unsigned char vec[LEN / PAGE_SZ];
		size_t i, incore = 0;
		long long rd = d(&s1, &s2, V_PSWPIN);

		if (!mincore(a, LEN, vec))
			for (i = 0; i < LEN / PAGE_SZ; i++)
				incore += vec[i] & 1;
		print_snap_delta("MADV_WILLNEED", &s1, &s2);
		mj = majflt();
		bad = check(a, LEN, 15, "after MADV_WILLNEED");
		mj = majflt() - mj;
		snap(&s0);
		print_snap_delta("read back", &s2, &s0);
		ksft_test_result(ok && !bad && rd == (long long)(LEN / PAGE_SZ) &&
				 incore == LEN / PAGE_SZ && mj == 0 &&
				 d(&s2, &s0, V_PSWPIN) == 0 &&
				 d(&s2, &s0, V_SWPIN_PMD) == (long long)NR_THP &&
				 d(&s1, &s0, V_SPLIT_PMD) == 0 &&
				 smaps_kb(a, "AnonHugePages") == LEN_KB,
				 "MADV_WILLNEED reads swapped-out THPs in whole (pswpin +%lld, %zu pages in core); the faults then map them without I/O (%ld major)",
				 rd, incore, mj);
	}
	munmap(a, LEN);

	/* 16: THP set to never after the swap-out: each entry is split and
	 * the fault maps small pages, no THP (sysfs obeyed on swap-in) */
	{
		char was[128], *open_br, *close_br;

		a = swapped_area(LEN, 16);
		ok = a && !read_file(THP_ENABLED, was, sizeof(was)) &&
		     (open_br = strchr(was, '[')) && (close_br = strchr(open_br, ']'));
		if (ok) {
			*close_br = 0; /* "[madvise]": write back "madvise" */
			ok = !write_file(THP_ENABLED, "never");
			snap(&s1);
			bad = ok ? check(a, LEN, 16, "THP never") : 0;
			snap(&s2);
			thp = smaps_kb(a, "AnonHugePages");
			swap = smaps_kb(a, "Swap");
			if (write_file(THP_ENABLED, open_br + 1))
				ksft_exit_fail_msg("cannot set THP back to %s", open_br + 1);
			print_snap_delta("read back with THP never", &s1, &s2);
		}
		ksft_test_result(ok && !bad && d(&s1, &s2, V_SWPIN_PMD) == 0 &&
				 d(&s1, &s2, V_SWPIN_PMD_FB) == (long long)NR_THP &&
				 thp == 0 && swap == 0,
				 "THP set to never after swap-out: read back as small pages (thp_swpin_pmd +%lld, thp_swpin_pmd_fallback +%lld, AnonHugePages %ld kB, Swap %ld kB), contents intact",
				 ok ? d(&s1, &s2, V_SWPIN_PMD) : -1, ok ? d(&s1, &s2, V_SWPIN_PMD_FB) : -1,
				 ok ? thp : -1, ok ? swap : -1);
		if (a)
			munmap(a, LEN);
	}

	/* 17: MADV_NOHUGEPAGE after the swap-out, then MADV_WILLNEED: the
	 * fault will split the entries, so the prefetch must not read a THP
	 * it could not map whole (a large folio left in the swap cache for
	 * the 4 KB paths); the read brings small pages */
	a = swapped_area(LEN, 17);
	ok = a && !madvise(a, LEN, MADV_NOHUGEPAGE);
	snap(&s0);
	ok = ok && !madvise(a, LEN, MADV_WILLNEED);
	snap(&s1);
	bad = ok ? check(a, LEN, 17, "NOHUGEPAGE, WILLNEED") : 0;
	snap(&s2);
	thp = ok ? smaps_kb(a, "AnonHugePages") : -1;
	swap = ok ? smaps_kb(a, "Swap") : -1;
	print_snap_delta("MADV_WILLNEED after MADV_NOHUGEPAGE", &s0, &s1);
	print_snap_delta("read back", &s1, &s2);
	ksft_test_result(ok && !bad && d(&s0, &s1, V_PSWPIN) == 0 &&
			 d(&s0, &s2, V_SWPIN_PMD) == 0 &&
			 d(&s0, &s2, V_SWPIN_PMD_FB) == (long long)NR_THP && thp == 0 && swap == 0,
			 "MADV_NOHUGEPAGE then MADV_WILLNEED: no THP read ahead (pswpin +%lld), read back as small pages (thp_swpin_pmd_fallback +%lld, AnonHugePages %ld kB, Swap %ld kB), contents intact",
			 d(&s0, &s1, V_PSWPIN), d(&s0, &s2, V_SWPIN_PMD_FB), thp, swap);
	if (a)
		munmap(a, LEN);

	ksft_finished();
}
