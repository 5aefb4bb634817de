// SPDX-License-Identifier: MIT
/*
 * thp_swap_memcg - PMD swap entries in a cgroup v2 memory cgroup:
 *   1. swapped-out THPs are charged to memory.swap.current; with
 *      memory.max too small for a 2 MB folio, swap-in cannot charge one
 *      and falls back to 4 KB pages (thp_swpin_pmd_fallback), every byte
 *      right;
 *   2. with memory.swap.max at half of the area, MADV_PAGEOUT swaps out
 *      only what the limit allows, the rest stays, every byte right.
 * Each point runs in a child in the cgroup. Once it exited and the
 * cgroup's swap cache was reclaimed (memory.reclaim), memory.swap.current
 * must be back to 0, but for the freed slots per-CPU caches hold for a
 * while; the kernel log must be quiet and AnonHugePages where it was. A
 * first point does the same with 4 KB pages, as stock swap would.
 *
 * Skips on a kernel without PMD swap entries, or without the memory
 * controller on cgroup v2.
 */
#include <sys/wait.h>

#include "thp_swap.h"

#define LEN	(8UL << 20)
#define NR_THP	(LEN / PMD_SIZE)
#define CG	CG2ROOT "/thp_swap"
/*
 * memory.max just below one THP, so that a 2 MB swap-in charge cannot
 * succeed even in an empty cgroup.  Not less: another CPU's charge stock
 * (64 pages) and the process's kernel memory count too, and reading 8 MB
 * back 4 KB at a time reclaims all along: at 1 MB on a busy host reclaim
 * once fell behind and the OOM killer took the child, and at 1536K once
 * under TCG (make check-fresh, 2026-12-06).
 */
#define SMALL_MAX	"2044K"

static long cg_read(const char *file)
{
	return cg2_read(CG, file);
}

static int cg_write(const char *file, const char *val)
{
	return cg2_write(CG, file, val);
}

/* the cgroup's OOM kills so far (memory.events), -1 if unknown */
static long oom_kills(void)
{
	FILE *f = fopen(CG "/memory.events", "r");
	char key[32];
	long n, kills = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%31s %ld", key, &n) == 2)
		if (!strcmp(key, "oom_kill"))
			kills = n;
	fclose(f);
	return kills;
}

/* a fresh memory cgroup; NULL, or why not */
static const char *cg_setup(void)
{
	const char *why = cg2_make(CG, "+memory");

	if (why)
		return why;
	if (access(CG "/memory.swap.current", R_OK))
		return "no swap accounting (memory.swap.current)";
	return NULL;
}

/*
 * 1, in the cgroup: swapped-out THPs read back with no room for a 2 MB
 * folio; nonzero on a wrong byte or when swap-in did not fall back
 */
static int read_at_small_limit(void)
{
	struct vm_snap s0, s1;
	long swap_out;
	size_t bad;
	char *a = swapped_area(LEN, 1);

	if (!a)
		return 2;
	swap_out = cg_read("memory.swap.current");
	snap(&s0);
	cg_write("memory.max", SMALL_MAX);
	bad = check(a, LEN, 1, "read back at a " SMALL_MAX " limit");
	cg_write("memory.max", "max");
	snap(&s1);
	print_snap_delta("read back at a " SMALL_MAX " limit", &s0, &s1);
	ksft_print_msg("memory.swap.current %ld after swap-out\n", swap_out);
	return bad || swap_out < (long)LEN ||
	       d(&s0, &s1, V_SWPIN_PMD_FB) != (long long)NR_THP ||
	       d(&s0, &s1, V_SWPIN_PMD) != 0;
}

/* the same with 4 KB pages only: what stock swap leaves behind */
static int read_small_pages_at_small_limit(void)
{
	size_t bad;
	char *a = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED || madvise(a, LEN, MADV_NOHUGEPAGE))
		return 2;
	fill(a, LEN, 3);
	if (pageout(a, LEN))
		return 2;
	cg_write("memory.max", SMALL_MAX);
	bad = check(a, LEN, 3, "4 KB pages read back at a " SMALL_MAX " limit");
	cg_write("memory.max", "max");
	return bad != 0;
}

/* 2, in the cgroup: MADV_PAGEOUT under memory.swap.max 4M */
static int pageout_at_swap_max(void)
{
	struct vm_snap s0, s1, s2;
	long swap_out;
	size_t bad;
	char *a;

	cg_write("memory.swap.max", "4M");
	a = thp_area_paged_out(LEN, 2, &s0, &s1);
	if (!a)
		return 2;
	swap_out = cg_read("memory.swap.current");
	bad = check(a, LEN, 2, "read back after a limited swap-out");
	snap(&s2);
	print_snap_delta("pageout at memory.swap.max 4M", &s0, &s1);
	print_snap_delta("read back", &s1, &s2);
	ksft_print_msg("memory.swap.current %ld after swap-out\n", swap_out);
	/* one THP goes out whole; one whose charge fails is split to go out */
	return bad || d(&s0, &s1, V_PSWPOUT) <= 0 || swap_out > (4L << 20) ||
	       d(&s0, &s1, V_SWPOUT_PMD) < 1 || d(&s0, &s1, V_THP_SWPOUT_FB) < 1;
}

/*
 * Run fn in a child that joins the cgroup; then, with the child gone, its
 * swap charge must be too, the kernel log quiet and AnonHugePages back
 */
static int in_cgroup(int (*fn)(void))
{
	struct clean_mark mark = clean_mark();
	long swap_end, swap_left, kills = oom_kills();
	int status, ok;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid)
		_exit(cg_write("cgroup.procs", "0") ? 3 : fn());
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	/*
	 * What the process had in the swap cache when it exited (pages read
	 * ahead, or swapped in and still there) stays charged, with its slot,
	 * until reclaim takes it: reclaim it now, then nothing may be left.
	 */
	cg_write("memory.reclaim", "64M");
	swap_end = cg_read("memory.swap.current");
	/*
	 * Freed slots wait in a per-CPU cache (64 each) and stay charged until
	 * it is flushed: allow those, which is less than one PMD swap entry.
	 */
	swap_left = SLOT_CACHE_KB * 1024 * sysconf(_SC_NPROCESSORS_ONLN);
	ksft_print_msg("after the child: memory.current %ld, memory.swap.current %ld\n",
		       cg_read("memory.current"), swap_end);
	ok = WIFEXITED(status) && !WEXITSTATUS(status);
	if (!ok)
		ksft_print_msg("the child ended with status %#x, %ld OOM kill(s) in the cgroup\n",
			       status, oom_kills() - kills);
	if (swap_end > swap_left)
		ksft_print_msg("memory.swap.current %ld after the child exited, more than the %ld the slot caches may hold\n",
			       swap_end, swap_left);
	/* the child may have died before it put these back */
	cg_write("memory.max", "max");
	cg_write("memory.swap.max", "max");
	return clean_since(mark) && ok && swap_end <= swap_left;
}

int main(void)
{
	const char *why;

	ksft_print_header();
	ksft_set_plan(3);
	require_pmd_swap();
	why = cg_setup();
	if (why) {
		rmdir(CG);
		ksft_exit_skip_rest(why);
	}
	ksft_test_result(in_cgroup(read_small_pages_at_small_limit),
			 "control: 4 KB pages read back at a " SMALL_MAX " limit, swap charge gone with the process");
	ksft_test_result(in_cgroup(read_at_small_limit),
			 "memory.max too small for a THP: swap-in charges 4 KB pages instead (thp_swpin_pmd_fallback), swap charge gone with the process");
	ksft_test_result(in_cgroup(pageout_at_swap_max),
			 "memory.swap.max 4M: only what it allows goes out, every byte back, swap charge gone with the process");
	rmdir(CG);
	ksft_finished();
	return 0;
}
