// SPDX-License-Identifier: MIT
/*
 * thp_swap_race - swap-in of a PMD swap entry racing other work on the same
 * THP, round after round: four threads faulting it at once, a fault racing
 * MADV_DONTNEED of one of its pages (which splits the entry), a fault racing
 * fork(), a fault racing swapoff, and a fault that cannot have a THP (its
 * order-9 allocations fail) racing three that can. Each round checks every
 * byte, and where a fault mapped the THP whole, that it still is; each
 * case then checks that the kernel logged no BUG, WARNING or "Bad page" and
 * that the THPs it made are all gone again after munmap (AnonHugePages back
 * to where it was).
 *
 * What these races found: a fault that met another one between its
 * swapcache_prepare() and add_to_swap_cache() split the entry instead of
 * waiting, and a fault whose PMD changed during the read left its unmapped
 * 2 MB folio in the swap cache, where the 4 KB path mapped it with a PMD's
 * mapcounts ("Bad page state ... nonzero entire_mapcount" at munmap); and
 * a fault that fell back split whatever the PMD held by then, even a THP
 * another fault had just mapped whole.
 *
 * Skips on a kernel without PMD swap entries (no thp_swpout_pmd counter).
 */
#include <pthread.h>
#include <sys/swap.h>
#include <sys/wait.h>

#include "thp_swap.h"

#define SWAPDEV		"/dev/zram0"
#define WORKERS		4

/* what one worker does in a round; returns nonzero on a wrong byte */
typedef int (*race_fn)(char *a, int who, uint64_t seed);

static struct {
	pthread_barrier_t go, done;
	race_fn fn;
	char *a;
	uint64_t seed;
	int bad, stop;
} race;

static void *worker(void *arg)
{
	int who = (int)(long)arg;

	for (;;) {
		pthread_barrier_wait(&race.go);
		if (race.stop)
			return NULL;
		if (race.fn && race.fn(race.a, who, race.seed))
			__atomic_add_fetch(&race.bad, 1, __ATOMIC_RELAXED);
		pthread_barrier_wait(&race.done);
	}
}

/* one word of each 64 KB the worker is given, compared with the pattern */
static int read_share(char *a, int who, uint64_t seed)
{
	const volatile uint64_t *w = (const uint64_t *)a;
	size_t i, bad = 0;

	for (i = who * 8192 + 7; i < PMD_SIZE / 8; i += WORKERS * 8192)
		bad += w[i] != pat(seed, i);
	return bad != 0;
}

/* worker 0 faults, worker 1 drops the page at 1 MB (splitting the entry) */
#define DROPPED_OFF	(PMD_SIZE / 2)

static int fault_or_drop(char *a, int who, uint64_t seed)
{
	const volatile uint64_t *w = (const uint64_t *)a;
	size_t last = PMD_SIZE / 8 - 1;

	if (who == 1)
		return madvise(a + DROPPED_OFF, PAGE_SZ, MADV_DONTNEED) != 0;
	/* not the dropped page: it may read either way */
	if (who == 0)
		return w[7] != pat(seed, 7) || w[last] != pat(seed, last);
	return 0;
}

/* worker 0 faults, worker 1 forks a child that checks its copy */
static int fault_or_fork(char *a, int who, uint64_t seed)
{
	int status;
	pid_t pid;

	if (who == 0)
		return read_share(a, 0, seed);
	if (who != 1)
		return 0;
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		const uint64_t *w = (const uint64_t *)a;
		size_t i;

		/* no stdio here: another thread may hold its lock */
		for (i = 0; i < PMD_SIZE / 8; i++)
			if (w[i] != pat(seed, i))
				_exit(1);
		_exit(0);
	}
	return waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	       WEXITSTATUS(status);
}

/* worker 0 faults, worker 1 turns swap off (bringing everything back) */
static int fault_or_swapoff(char *a, int who, uint64_t seed)
{
	if (who == 0)
		return read_share(a, 0, seed);
	if (who == 1)
		return swapoff(SWAPDEV) != 0;
	return 0;
}

/*
 * Worker 0 cannot have a THP (its order-9 allocations fail: it falls back
 * and splits), the others can. Whichever way a round goes, a THP that one
 * of them mapped whole must stay whole: the fallback split used to split
 * whatever the PMD held by then.
 */
static int fault_without_thp(char *a, int who, uint64_t seed)
{
	int bad;

	if (who)
		return read_share(a, who, seed);
	if (write_file("/proc/thread-self/make-it-fail", "1"))
		return 1;
	bad = read_share(a, 0, seed);
	return write_file("/proc/thread-self/make-it-fail", "0") || bad;
}

struct race_case {
	const char *name;
	race_fn fn;
	int rounds;
	int dropped;		/* the page at DROPPED_OFF reads back zero */
	int swapoff;		/* swap must be turned on again each round */
	int fail_thp;		/* fail_page_alloc set up for fault_without_thp */
	int whole_stays;	/* a THP swapped in whole must not be split */
};

/*
 * Rounds: half of what they were before lockdep came into the guest
 * kernel, which tripled this test's time (to three minutes under TCG).
 */
static const struct race_case cases[] = {
	{ "four threads fault the same swapped-out THP", read_share, 500, 0, 0, 0, 1 },
	{ "a fault races MADV_DONTNEED of one of its pages", fault_or_drop, 200, 1, 0, 0, 0 },
	{ "a fault races fork(), the child checks its copy", fault_or_fork, 100, 0, 0, 0, 0 },
	{ "a fault races swapoff", fault_or_swapoff, 20, 0, 1, 0, 0 },
	{ "a fault that cannot have a THP races three that can",
	  fault_without_thp, 150, 0, 0, 1, 1 },
};

/* one round: a fresh THP from seed, paged out, raced, checked; 1 if it
 * went as a PMD swap entry, 0 if not, -1 on a wrong byte or a setup error */
static int one_round(const struct race_case *c, uint64_t seed)
{
	struct vm_snap s0, s1, s2;
	int pmd, bad;
	long thp;
	char *a = thp_area_paged_out(PMD_SIZE, seed, &s0, &s1);

	if (!a)
		return -1;
	pmd = d(&s0, &s1, V_SWPOUT_PMD) == 1;
	race.a = a;
	race.seed = seed;
	race.fn = c->fn;
	pthread_barrier_wait(&race.go);
	pthread_barrier_wait(&race.done);
	bad = race.bad;
	snap(&s2);
	/* mapped whole by one of the faults: nothing may have split it since */
	if (c->whole_stays && d(&s1, &s2, V_SWPIN_PMD) > 0 &&
	    (thp = smaps_kb(a, "AnonHugePages")) != (long)(PMD_SIZE >> 10)) {
		ksft_print_msg("seed %llu: swapped in whole, then split (AnonHugePages %ld kB)\n",
			       (unsigned long long)seed, thp);
		bad++;
	}
	if (c->dropped) {
		bad += nonzero(a + DROPPED_OFF, PAGE_SZ) != 0;
		bad += check(a, DROPPED_OFF, seed, "before the dropped page") != 0;
		bad += check_from(a + DROPPED_OFF + PAGE_SZ,
				  PMD_SIZE - DROPPED_OFF - PAGE_SZ, seed,
				  (DROPPED_OFF + PAGE_SZ) / 8,
				  "after the dropped page") != 0;
	} else {
		bad += check(a, PMD_SIZE, seed, "after the race") != 0;
	}
	munmap(a, PMD_SIZE);
	if (c->swapoff && swapon(SWAPDEV, 0) && errno != EBUSY) {
		ksft_print_msg("swapon(%s): %s\n", SWAPDEV, strerror(errno));
		return -1;
	}
	if (bad)
		ksft_print_msg("seed %llu: %d wrong (worker errors %d)\n",
			       (unsigned long long)seed, bad, race.bad);
	return bad ? -1 : pmd;
}

static void run_case(const struct race_case *c, int idx)
{
	struct clean_mark mark = clean_mark();
	struct vm_snap s0, s1;
	int r, pmds = 0, failed = 0;

	if (c->fail_thp && fail_pmd_order_tasks(1)) {
		fail_pmd_order_tasks(0);
		ksft_test_result_skip("no fail_page_alloc in debugfs (CONFIG_FAIL_PAGE_ALLOC)",
				      "%s", c->name);
		return;
	}
	snap(&s0);
	for (r = 0; r < c->rounds && !failed; r++) {
		int ret;

		race.bad = 0;
		ret = one_round(c, 1000 * (idx + 1) + r);
		if (ret < 0)
			failed = r + 1;
		else
			pmds += ret;
	}
	snap(&s1);
	if (c->fail_thp)
		fail_pmd_order_tasks(0);
	print_snap_delta(c->name, &s0, &s1);
	if (failed)
		ksft_print_msg("round %d went wrong\n", failed);
	ksft_test_result(clean_since(mark) && !failed &&
			 pmds * 10 >= c->rounds * 9,
			 "%s: %d rounds, %d as PMD swap entries, every byte right",
			 c->name, c->rounds, pmds);
}

int main(void)
{
	pthread_t t[WORKERS];
	size_t i;

	ksft_print_header();
	ksft_set_plan(sizeof(cases) / sizeof(cases[0]));
	require_pmd_swap();

	pthread_barrier_init(&race.go, NULL, WORKERS + 1);
	pthread_barrier_init(&race.done, NULL, WORKERS + 1);
	for (i = 0; i < WORKERS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(long)i))
			ksft_exit_fail_msg("pthread_create: %s", strerror(errno));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], i);

	race.stop = 1;
	pthread_barrier_wait(&race.go);
	for (i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	ksft_finished();
	return 0;
}
