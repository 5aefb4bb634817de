// SPDX-License-Identifier: MIT
/*
 * thp_swap_move_swapoff - userfaultfd and swapoff on swapped-out THPs:
 * UFFDIO_MOVE (whole: the PMD swap entries move as they are; part of one:
 * that entry is split and its PTEs move), uffd-wp (the bit survives
 * swap-out and swap-in of a PMD, and clears), and swapoff, which must read
 * each swapped-out THP back whole and map it with one PMD again.
 *
 * Skips on a kernel without PMD swap entries (no thp_swpout_pmd counter).
 */
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/swap.h>
#include <sys/syscall.h>

#include "thp_swap.h"

/* userspace headers older than Linux 6.8 do not know UFFDIO_MOVE */
#ifndef UFFDIO_MOVE
#define _UFFDIO_MOVE		(0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE		_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE	(1 << 16)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1 << 15)
#endif

#define PM_UFFD_WP	(1ULL << 57)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

#define LEN	(8UL << 20)
#define NR_THP	(LEN / PMD_SIZE)
#define LEN_KB	((long)(LEN >> 10))

/* a userfaultfd with @features, [a, a + len) registered in @mode */
static int uffd_on(void *a, size_t len, uint64_t features, uint64_t mode)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)a, .len = len },
		.mode = mode,
	};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* UFFDIO_MOVE into @dst, registered for missing faults */
static int uffd_for(void *dst, size_t len)
{
	return uffd_on(dst, len, UFFD_FEATURE_MOVE, UFFDIO_REGISTER_MODE_MISSING);
}

/*
 * uffd-wp on [a, a + len). Asynchronous: a write to a protected page is
 * resolved by the kernel, so a mistake cannot leave the test blocked on a
 * fault nobody reads.
 */
static int uffd_wp_for(void *a, size_t len)
{
	return uffd_on(a, len, UFFD_FEATURE_WP_ASYNC, UFFDIO_REGISTER_MODE_WP);
}

static int uffd_wp(int fd, void *a, size_t len, int on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)a, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
}

/* pages of [a, a + len) whose pagemap entry has all the bits of 'want' */
static size_t pagemap_count(const void *a, size_t len, uint64_t want)
{
	size_t n = len / PAGE_SZ, i, hits = 0;
	uint64_t *ent = calloc(n, 8);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd >= 0 && ent &&
	    pread(fd, ent, n * 8, (unsigned long)a / PAGE_SZ * 8) == (ssize_t)(n * 8))
		for (i = 0; i < n; i++)
			hits += (ent[i] & want) == want;
	if (fd >= 0)
		close(fd);
	free(ent);
	return hits;
}

static long long uffd_move(int fd, void *dst, void *src, size_t len)
{
	struct uffdio_move mv = {
		.dst = (unsigned long)dst, .src = (unsigned long)src,
		.len = len, .mode = 0,
	};

	if (ioctl(fd, UFFDIO_MOVE, &mv)) {
		ksft_print_msg("UFFDIO_MOVE: %s (moved %lld)\n", strerror(errno),
			       (long long)mv.move);
		return -1;
	}
	return mv.move;
}

/*
 * A swapped-out source from @seed, a THP destination and a userfaultfd to
 * move into it; the test stops if any of them cannot be had.
 */
static int move_setup(uint64_t seed, char **src, char **dst)
{
	int fd;

	*src = swapped_area(LEN, seed);
	*dst = map_thp(LEN);
	if (!*src || !*dst)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	fd = uffd_for(*dst, LEN);
	if (fd < 0)
		ksft_exit_fail_msg("userfaultfd: %s", strerror(errno));
	return fd;
}

int main(void)
{
	struct vm_snap s0, s1, s2;
	long long moved;
	long swap_dst, swap_src, thp;
	char *src, *dst;
	size_t bad;
	int fd;

	ksft_print_header();
	ksft_set_plan(5);
	require_pmd_swap();

	/* 1: UFFDIO_MOVE of whole swapped-out THPs moves the PMD entries */
	src = swapped_area(LEN, 1);
	dst = map_thp(LEN);
	if (!src || !dst)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	fd = uffd_for(dst, LEN);
	if (fd < 0)
		ksft_exit_skip_rest("no userfaultfd with UFFDIO_MOVE");
	snap(&s0);
	moved = uffd_move(fd, dst, src, LEN);
	snap(&s1);
	/* unregister: a missing page in dst must read as zero, not block */
	close(fd);
	swap_dst = smaps_kb(dst, "Swap");
	swap_src = smaps_kb(src, "Swap");
	bad = check(dst, LEN, 1, "moved area");
	snap(&s2);
	print_snap_delta("UFFDIO_MOVE", &s0, &s1);
	print_snap_delta("read back", &s1, &s2);
	ksft_test_result(moved == (long long)LEN && !bad &&
			 d(&s0, &s1, V_MOVE_SWAP_PMD) == (long long)NR_THP &&
			 d(&s0, &s2, V_SPLIT_PMD) == 0 && swap_dst == LEN_KB &&
			 swap_src == 0 && d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
			 !nonzero(src, LEN),
			 "UFFDIO_MOVE moves PMD swap entries whole (thp_move_swap_pmd +%lld, Swap %ld kB at dst, %ld kB at src), read back as PMDs",
			 d(&s0, &s1, V_MOVE_SWAP_PMD), swap_dst, swap_src);
	munmap(src, LEN);
	munmap(dst, LEN);

	/* 2: UFFDIO_MOVE of 1 MB of a swapped-out THP splits that entry */
	fd = move_setup(2, &src, &dst);
	snap(&s0);
	moved = uffd_move(fd, dst, src, PMD_SIZE / 2);
	close(fd);
	bad = check(dst, PMD_SIZE / 2, 2, "moved part");
	bad += nonzero(src, PMD_SIZE / 2);
	bad += check_from(src + PMD_SIZE / 2, LEN - PMD_SIZE / 2, 2,
			  PMD_SIZE / 16, "rest of the source");
	snap(&s1);
	print_snap_delta("partial UFFDIO_MOVE", &s0, &s1);
	ksft_test_result(moved == (long long)PMD_SIZE / 2 && !bad &&
			 d(&s0, &s1, V_SPLIT_PMD) == 1 &&
			 d(&s0, &s1, V_MOVE_SWAP_PMD) == 0,
			 "UFFDIO_MOVE of 1 MB of a swapped-out THP: entry split, PTEs moved, the rest intact");
	munmap(src, LEN);
	munmap(dst, LEN);

	/* 3: uffd-wp survives swap-out and swap-in of a PMD, and clears */
	src = map_thp(LEN);
	if (!src)
		ksft_exit_fail_msg("mmap: %s", strerror(errno));
	fill(src, LEN, 4);
	fd = uffd_wp_for(src, LEN);
	if (fd < 0) {
		ksft_test_result_skip("no asynchronous uffd-wp", "uffd-wp on swapped-out THPs");
	} else {
		size_t n = LEN / PAGE_SZ, wp_swapped, wp_present, wp_after;
		int ok = !uffd_wp(fd, src, LEN, 1);

		snap(&s0);
		ok = ok && !pageout(src, LEN);
		snap(&s1);
		wp_swapped = pagemap_count(src, LEN, PM_UFFD_WP | PM_SWAP);
		bad = check(src, LEN, 4, "read back write-protected");
		snap(&s2);
		wp_present = pagemap_count(src, LEN, PM_UFFD_WP | PM_PRESENT);
		ok = ok && !uffd_wp(fd, src, LEN, 0);
		wp_after = pagemap_count(src, LEN, PM_UFFD_WP);
		print_snap_delta("uffd-wp pageout", &s0, &s1);
		print_snap_delta("uffd-wp read back", &s1, &s2);
		ksft_print_msg("uffd-wp pages: %zu swapped, %zu present after swap-in, %zu after unprotect (of %zu)\n",
			       wp_swapped, wp_present, wp_after, n);
		/* only write once nothing is protected any more */
		if (ok && !wp_after) {
			fill(src, LEN, 44);
			bad += check(src, LEN, 44, "written after unprotect");
		}
		ksft_test_result(ok && !bad && wp_swapped == n && wp_present == n &&
				 !wp_after &&
				 d(&s0, &s1, V_SWPOUT_PMD) == (long long)NR_THP &&
				 d(&s1, &s2, V_SWPIN_PMD) == (long long)NR_THP &&
				 d(&s0, &s2, V_SPLIT_PMD) == 0,
				 "uffd-wp: kept by the PMD swap entry (%zu pages) and the PMD swapped back in (%zu), cleared by unprotect",
				 wp_swapped, wp_present);
		close(fd);
	}
	munmap(src, LEN);

	/* 4: swapoff reads swapped-out THPs back whole */
	src = swapped_area(LEN, 3);
	if (!src)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	snap(&s0);
	if (swapoff(SWAPDEV)) {
		ksft_test_result_fail("swapoff(%s): %s", SWAPDEV, strerror(errno));
	} else {
		snap(&s1);
		thp = smaps_kb(src, "AnonHugePages");
		swap_src = smaps_kb(src, "Swap");
		bad = check(src, LEN, 3, "after swapoff");
		print_snap_delta("swapoff", &s0, &s1);
		ksft_test_result(!bad && d(&s0, &s1, V_SWPOFF_PMD) == (long long)NR_THP &&
				 d(&s0, &s1, V_SPLIT_PMD) == 0 && thp == LEN_KB &&
				 swap_src == 0,
				 "swapoff maps swapped-out THPs back as PMDs (thp_swpoff_pmd +%lld, AnonHugePages %ld kB)",
				 d(&s0, &s1, V_SWPOFF_PMD), thp);
		if (swapon(SWAPDEV, 0))
			ksft_print_msg("swapon(%s) again: %s\n", SWAPDEV, strerror(errno));
	}
	munmap(src, LEN);

	/*
	 * 5: MADV_WILLNEED reads swapped-out THPs into the swap cache (whole,
	 * never mapped), then UFFDIO_MOVE takes their entries and gives the
	 * folios their new anon mapping. The first is then mapped whole by a
	 * fault; the second, split by MADV_DONTNEED of one page, is mapped
	 * page by page. No page may be left with a wrong mapcount: the kernel
	 * logs nothing, and AnonHugePages comes back to where it was.
	 */
	{
		struct clean_mark mark = clean_mark();

		fd = move_setup(5, &src, &dst);
		snap(&s0);
		if (madvise(src, LEN, MADV_WILLNEED))
			ksft_print_msg("MADV_WILLNEED: %s\n", strerror(errno));
		snap(&s1);
		moved = uffd_move(fd, dst, src, LEN);
		close(fd);
		madvise(dst + PMD_SIZE + PAGE_SZ, PAGE_SZ, MADV_DONTNEED);
		bad = check(dst, PMD_SIZE, 5, "moved, mapped whole");
		bad += check_from(dst + PMD_SIZE, PAGE_SZ, 5, PMD_SIZE / 8,
				  "moved, split: before the dropped page");
		bad += nonzero(dst + PMD_SIZE + PAGE_SZ, PAGE_SZ);
		bad += check_from(dst + PMD_SIZE + 2 * PAGE_SZ,
				  LEN - PMD_SIZE - 2 * PAGE_SZ, 5,
				  (PMD_SIZE + 2 * PAGE_SZ) / 8,
				  "moved, split: after the dropped page");
		snap(&s2);
		munmap(src, LEN);
		munmap(dst, LEN);
		print_snap_delta("WILLNEED", &s0, &s1);
		print_snap_delta("UFFDIO_MOVE and read", &s1, &s2);
		ksft_test_result(clean_since(mark) && moved == (long long)LEN && !bad &&
				 d(&s0, &s1, V_PSWPIN) == (long long)(LEN / PAGE_SZ) &&
				 d(&s1, &s2, V_MOVE_SWAP_PMD) == (long long)NR_THP,
				 "UFFDIO_MOVE of THPs read ahead into the swap cache: mapped whole or page by page, all freed at munmap");
	}

	ksft_finished();
}
