// SPDX-License-Identifier: MIT
/*
 * thp_swap_fork - PMD swap entries across fork(): the child gets the entry
 * (the slots counted twice: SwapPss is half of Swap), either process can
 * read the THP back whole, a write on either side after the fork copies
 * instead of writing through, and the slots are freed exactly once. A THP
 * split while in the swap cache (the child's copy, through debugfs) makes
 * the parent's entry fall back to PTEs, which find the small folios there.
 * When the atomic allocation of a swap count continuation fails at fork,
 * the parent's entry is split and the PTE path retries with GFP_KERNEL.
 *
 * Skips on a kernel without PMD swap entries (no thp_swpout_pmd counter).
 */
#include <sys/mount.h>
#include <sys/swap.h>
#include <sys/wait.h>

#include "thp_swap.h"

#define LEN	(8UL << 20)
#define NR_THP	(LEN / PMD_SIZE)
#define LEN_KB	((long)(LEN >> 10))

/* fork a child that waits for a byte on *go, runs fn, exits with its result */
static pid_t child(int *go, int (*fn)(char *), char *a)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		_exit(fn(a));
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int release_and_wait(int go, pid_t pid)
{
	int status;

	if (write(go, "g", 1) != 1)
		return -1;
	close(go);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int child_reads_1(char *a)
{
	return check(a, LEN, 1, "child reads") ? 1 : 0;
}

/* the parent has written seed 23 by now: the child must still see seed 2 */
static int child_reads_then_writes_2(char *a)
{
	if (check(a, LEN, 2, "child reads after parent wrote"))
		return 1;
	fill(a, LEN, 22);
	return check(a, LEN, 22, "child's own write") ? 1 : 0;
}

/* the child of point 6 takes no injected failure: it must fault freely */
static int child_reads_7(char *a)
{
	write_file("/proc/self/make-it-fail", "0");
	return check(a, PMD_SIZE, 7, "child 62 reads") ? 1 : 0;
}

static int child_exits(char *a)
{
	(void)a;
	return 0;
}

#define SPLIT_HUGE_PAGES "/sys/kernel/debug/split_huge_pages"

/*
 * Read the THPs in (they stay in the swap cache: the parent still has the
 * slots), then have the kernel split them there, through debugfs.
 */
static int child_reads_and_splits_5(char *a)
{
	char cmd[128];

	if (check(a, LEN, 5, "child reads before the split"))
		return 1;
	snprintf(cmd, sizeof(cmd), "%d,%#lx,%#lx", getpid(), (unsigned long)a,
		 (unsigned long)a + LEN);
	if (write_file(SPLIT_HUGE_PAGES, cmd))
		return 3;
	return smaps_kb(a, "AnonHugePages") == 0 ? 0 : 4;
}

/*
 * Up to @n children that share the parent's memory and wait until
 * release_sharers(): their pids in @kids, the write end of the pipe they
 * wait on in *@release. How many were forked.
 */
static int fork_sharers(pid_t *kids, int n, int *release)
{
	int p[2], k;
	char c;

	*release = -1;
	if (pipe(p))
		return 0;
	for (k = 0; k < n; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			break;
		if (!kids[k]) {
			close(p[1]);
			_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
		}
	}
	close(p[0]);
	*release = p[1];
	return k;
}

/* let the @n sharers exit; 1 if every one exited 0 */
static int release_sharers(int release, const pid_t *kids, int n)
{
	int k, st, ok = 1;

	close(release);
	for (k = 0; k < n; k++)
		if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = 0;
	return ok;
}

#define NR_TO_MAX	61	/* children that bring a swap count to SWAP_MAP_MAX */

enum { SWAP_CYCLED, SWAP_STILL_ON, SWAP_LEFT_OFF };

/*
 * zram swapped off (within 60 s: a slot still referenced keeps swapoff
 * looping) and on again: SWAP_CYCLED, SWAP_STILL_ON when swapoff did not
 * finish, or SWAP_LEFT_OFF when swapon failed; each said why
 */
static int swap_cycle(void)
{
	if (swapoff_within(SWAPDEV, 60))
		return SWAP_STILL_ON;
	if (swapon(SWAPDEV, 0) && swapon(SWAPDEV, 0)) {
		ksft_print_msg("swapon(%s): %s: the guest has no swap now\n",
			       SWAPDEV, strerror(errno));
		return SWAP_LEFT_OFF;
	}
	return SWAP_CYCLED;
}

/*
 * 6: the fork that needs a swap count continuation (the 62nd sharer) while
 * GFP_ATOMIC page allocations fail: swap_duplicate() cannot allocate one,
 * so copy_huge_pmd() splits the parent's entry and copy_pte_range() takes
 * the references with a GFP_KERNEL continuation. One entry is split, the
 * fork succeeds, everybody reads the right bytes, every slot is freed. One
 * THP: a second one could need a continuation page of its own (another
 * page of swap_map), and be split too.
 */
static int continuation_fails_at_fork(void)
{
	pid_t kids[NR_TO_MAX + 1];
	struct vm_snap s0, s1, s2;
	struct clean_mark mark;
	int release, nk, kids_ok, unused, go = -1, rc = -1;
	long sf_before, sf_after, slack;
	char *a;
	size_t bad;

	/*
	 * A continuation page, once allocated, stays until swapoff (point 4
	 * made some): swap off and on again, so this fork needs a new one.
	 */
	if (swap_cycle())
		return 0;
	mark = clean_mark();
	sf_before = meminfo_kb("SwapFree");
	a = swapped_area(PMD_SIZE, 7);
	if (!a)
		return 0;
	nk = fork_sharers(kids, NR_TO_MAX, &release);
	snap(&s0);
	/*
	 * every page allocation of this task that may not sleep fails: the
	 * continuation's GFP_ATOMIC one, and the slab allocator's first tries
	 * at a higher order (they fall back to the lowest, which may sleep; so
	 * failing only the next one can miss the continuation)
	 */
	if (fail_page_alloc_tasks("0", 1) || write_file("/proc/self/make-it-fail", "1")) {
		ksft_print_msg("cannot set up fail_page_alloc\n");
	} else {
		kids[nk] = child(&go, child_reads_7, a);
		write_file("/proc/self/make-it-fail", "0");
		write_file(FAIL_PAGE_ALLOC "probability", "0");
		snap(&s1);
		if (kids[nk] > 0)
			rc = release_and_wait(go, kids[nk]);
	}
	bad = check(a, PMD_SIZE, 7, "parent reads after the fork");
	snap(&s2);
	kids_ok = release_sharers(release, kids, nk);
	munmap(a, PMD_SIZE);
	sf_after = meminfo_kb("SwapFree");
	print_snap_delta("the fork whose continuation failed", &s0, &s1);
	print_snap_delta("parent reads", &s1, &s2);
	ksft_print_msg("%d children, then one more: rc %d; SwapFree %+ld kB at the end\n",
		       nk, rc, sf_after - sf_before);
	/* the per-CPU slot caches may hold 4 KB slots either way a while */
	slack = 2 * SLOT_CACHE_KB * sysconf(_SC_NPROCESSORS_ONLN);
	/*
	 * Exactly: with everyone gone, no slot may still be referenced, or
	 * swapoff would loop on it (the split entry's 512 slots above all)
	 */
	unused = swap_cycle() != SWAP_STILL_ON;
	return clean_since(mark) && nk == NR_TO_MAX && kids_ok && rc == 0 && !bad &&
	       d(&s0, &s1, V_SPLIT_PMD) == 1 && d(&s1, &s2, V_SWPIN_PMD) == 0 &&
	       labs(sf_after - sf_before) <= slack && unused;
}

int main(void)
{
	struct vm_snap s0, s1;
	long swap, pss, sf0, sf1, sf2;
	int go, rc, ok;
	size_t bad;
	pid_t pid;
	char *a;

	ksft_print_header();
	ksft_set_plan(6);
	require_pmd_swap();

	/* 1: the child shares the entry; both read it back whole */
	a = swapped_area(LEN, 1);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	snap(&s0);
	pid = child(&go, child_reads_1, a);
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s", strerror(errno));
	swap = smaps_kb(a, "Swap");
	pss = smaps_kb(a, "SwapPss");
	ksft_print_msg("after fork: Swap %ld kB, SwapPss %ld kB\n", swap, pss);
	rc = release_and_wait(go, pid);
	bad = check(a, LEN, 1, "parent reads");
	snap(&s1);
	print_snap_delta("fork, child and parent read", &s0, &s1);
	ksft_test_result(rc == 0 && !bad && swap == LEN_KB && pss == LEN_KB / 2 &&
			 d(&s0, &s1, V_SWPIN_PMD) == 2 * (long long)NR_THP &&
			 d(&s0, &s1, V_SPLIT_PMD) == 0 &&
			 smaps_kb(a, "AnonHugePages") == LEN_KB,
			 "fork: entry shared (SwapPss %ld of %ld kB), child and parent read it back as PMDs (thp_swpin_pmd +%lld, child rc %d)",
			 pss, swap, d(&s0, &s1, V_SWPIN_PMD), rc);
	munmap(a, LEN);

	/* 2: COW: the parent writes first, then the child; each sees its own */
	a = swapped_area(LEN, 2);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	snap(&s0);
	pid = child(&go, child_reads_then_writes_2, a);
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s", strerror(errno));
	fill(a, LEN, 23);
	rc = release_and_wait(go, pid);
	bad = check(a, LEN, 23, "parent's own write after the child's");
	snap(&s1);
	print_snap_delta("fork + COW", &s0, &s1);
	ksft_test_result(rc == 0 && !bad && d(&s0, &s1, V_SWPIN_PMD) >= (long long)NR_THP,
			 "fork + COW: parent and child write after swap-out, each keeps its own data (child rc %d, thp_swpin_pmd +%lld, thp_split_pmd +%lld)",
			 rc, d(&s0, &s1, V_SWPIN_PMD), d(&s0, &s1, V_SPLIT_PMD));
	munmap(a, LEN);

	/* 3: a child that exits drops its references only */
	a = swapped_area(LEN, 3);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	sf0 = meminfo_kb("SwapFree");
	pid = child(&go, child_exits, a);
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s", strerror(errno));
	rc = release_and_wait(go, pid);
	sf1 = meminfo_kb("SwapFree");
	pss = smaps_kb(a, "SwapPss");
	munmap(a, LEN);
	sf2 = meminfo_kb("SwapFree");
	ok = rc == 0 && sf1 == sf0 && pss == LEN_KB && sf2 - sf1 == LEN_KB;
	ksft_test_result(ok,
			 "fork + exit: slots kept while the parent maps them (SwapFree %+ld kB, SwapPss %ld kB), freed at its munmap (%+ld kB)",
			 sf1 - sf0, pss, sf2 - sf1);

	/*
	 * 4: more sharers than a swap count holds (SWAP_MAP_MAX, 62): the
	 * 512 references no longer go in one batch but slot by slot, with
	 * swap count continuations
	 */
	{
		enum { NR_KIDS = 80 };
		pid_t kids[NR_KIDS];
		int release, nk, kids_ok;
		long sf_before;

		sf_before = meminfo_kb("SwapFree");
		a = swapped_area(LEN, 6);
		if (!a)
			ksft_exit_fail_msg("could not set up a swapped-out THP area");
		snap(&s0);
		nk = fork_sharers(kids, NR_KIDS, &release);
		swap = smaps_kb(a, "Swap");
		pss = smaps_kb(a, "SwapPss");
		bad = check(a, LEN, 6, "parent reads, shared 81 ways");
		snap(&s1);
		kids_ok = release_sharers(release, kids, nk);
		munmap(a, LEN);
		sf1 = meminfo_kb("SwapFree");
		print_snap_delta("80 forks, parent reads", &s0, &s1);
		ksft_print_msg("%d children: Swap %ld kB, SwapPss %ld kB; SwapFree %+ld kB at the end\n",
			       nk, swap, pss, sf1 - sf_before);
		ksft_test_result(nk == NR_KIDS && kids_ok && !bad && swap == LEN_KB &&
				 pss <= LEN_KB / NR_KIDS + 1 && sf1 == sf_before &&
				 d(&s0, &s1, V_SWPIN_PMD) == (long long)NR_THP,
				 "80 forks share the PMD swap entries (SwapPss %ld kB), the parent reads them back as PMDs, all slots freed at the end",
				 pss);
	}

	/* 5: the THP was split in the swap cache: the parent's entry falls back */
	if (access(SPLIT_HUGE_PAGES, W_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(SPLIT_HUGE_PAGES, W_OK)) {
		ksft_test_result_skip("no " SPLIT_HUGE_PAGES " (CONFIG_DEBUG_FS)",
				      "THP split in the swap cache");
		goto continuation;
	}
	a = swapped_area(LEN, 5);
	if (!a)
		ksft_exit_fail_msg("could not set up a swapped-out THP area");
	pid = child(&go, child_reads_and_splits_5, a);
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s", strerror(errno));
	rc = release_and_wait(go, pid);
	snap(&s0);
	bad = check(a, LEN, 5, "parent reads after the split");
	snap(&s1);
	print_snap_delta("parent reads, THPs split in the swap cache", &s0, &s1);
	ksft_test_result(rc == 0 && !bad &&
			 d(&s0, &s1, V_SWPIN_PMD_FB) == (long long)NR_THP &&
			 d(&s0, &s1, V_SWPIN_PMD) == 0 && d(&s0, &s1, V_PSWPIN) == 0,
			 "THPs split while in the swap cache: the parent's PMD swap entries fall back to PTEs and find the pages there (child rc %d, thp_swpin_pmd_fallback +%lld)",
			 rc, d(&s0, &s1, V_SWPIN_PMD_FB));
	munmap(a, LEN);

continuation:
	ksft_test_result(continuation_fails_at_fork(),
			 "a swap count continuation that cannot be allocated at fork: one entry split, the fork goes on, every byte right, every slot freed");
	ksft_finished();
}
