/* SPDX-License-Identifier: MIT */
/*
 * A fork copies the agent's state as its threads have it at that moment,
 * and what they were in the middle of is not under way in the child.
 * Two such states made a child refuse every eviction for good (EBUSY):
 *
 * - walk: the daemon's eviction request, read while a fork was under
 *   way, began a walk that the kernel copied into the child as under way
 *   (and the limit guard's own flag, the same way, kept each fault at a
 *   memory cgroup's limit waiting a second for room nobody was making:
 *   the stress test's --limit 160, a forked child reading one 64 KB frame
 *   a second).  The fork is held with the agent frozen
 *   (UZSWAP_TEST_FORK_FREEZE_MS), an eviction is asked for meanwhile, and
 *   its walk holds at its start while a fork is pending
 *   (UZSWAP_TEST_WALK_FORK_MS), so the kernel copies the child inside it.
 * - remap: another thread inside an interposed mremap(), which holds
 *   evictions off until it returns (interpose.c hold_begin), is not in
 *   the child to let go (review probe p2_hold_inherit, 3 of 3 runs).
 *
 * Each time the child must evict its own memory and read it back right.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define FREEZE_MS 1500
#define WALK_FORK_MS 2500
#define NOT_TESTED 3 /* the child's exit: the state to copy was not there */

static uint8_t *stored, *resident;

static void *ask_eviction(void *arg)
{
	char out[4096];

	(void)arg;
	usleep(300000); /* the fork is in its freeze by now */
	/* its answer is EBUSY (the walk ends at the fork): not looked at */
	it_ctl(out, sizeof(out), "evict %d --all", getpid());
	return NULL;
}

static volatile int remapping, in_mremap;

/* Interposed mremap()s back and forth, as long as asked. */
static void *remapper(void *arg)
{
	uint8_t *a = it_alloc(4 * IT_MB, 1), *b = it_alloc(4 * IT_MB, 1), *t;

	(void)arg;
	it_fill(a, 4 * IT_MB, 9);
	while (remapping) {
		in_mremap = 1;
		t = mremap(a, 4 * IT_MB, 4 * IT_MB, MREMAP_MAYMOVE | MREMAP_FIXED, b);
		in_mremap = 0;
		it_assert(t != MAP_FAILED, "mremap failed");
		b = a;
		a = t;
	}
	return NULL;
}

/* The child: its own copy of @resident, then all it has, evicted by its
 * own agent, and read back. */
static int child(int need_mremap)
{
	char out[4096];
	int st;

	if (need_mremap && !in_mremap)
		return NOT_TESTED;
	it_fill(resident, LEN, 7); /* its own pages: the parent's are shared */
	st = it_ctl(out, sizeof(out), "evict %d --all", getpid());
	if (st || strstr(out, "stopped")) {
		fprintf(stderr, "FAIL: the forked child could not evict its "
			"memory (status %d): %s", st, out);
		return 1;
	}
	if (strncmp(out, "evicted ", 8) || !strncmp(out, "evicted 0 ", 10)) {
		fprintf(stderr, "FAIL: the forked child's eviction took "
			"nothing: %s", out);
		return 1;
	}
	if (it_check(resident, LEN, 7) >= 0 || it_check(stored, LEN, 1) >= 0) {
		fprintf(stderr, "FAIL: the forked child read wrong bytes\n");
		return 1;
	}
	return 0;
}

/* Fork; the child runs child(@need_mremap).  Its exit status. */
static int fork_and_wait(int need_mremap, double *took)
{
	double t0 = it_now_s();
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(child(need_mremap));
	*took = it_now_s() - t0;
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st), "the child died (status %#x)", st);
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	char ms[16];
	pthread_t t;
	double took;
	int st, tries;

	snprintf(ms, sizeof(ms), "%d", FREEZE_MS);
	setenv("UZSWAP_TEST_FORK_FREEZE_MS", ms, 1);
	snprintf(ms, sizeof(ms), "%d", WALK_FORK_MS);
	setenv("UZSWAP_TEST_WALK_FORK_MS", ms, 1);
	it_setup(argc, argv);
	alarm(180);
	stored = it_alloc(LEN, 1);
	resident = it_alloc(LEN, 1);
	it_fill(stored, LEN, 1);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") >= LEN - IT_BLOCK,
		  "eviction took too little");

	/* walk: the fork held past its freeze by the walk's pause, or the
	 * eviction came after the copy and nothing was tested */
	it_fill(resident, LEN, 2); /* the walk in the fork has this to take */
	pthread_create(&t, NULL, ask_eviction, NULL);
	st = fork_and_wait(0, &took);
	pthread_join(t, NULL);
	it_assert(!st, "walk: the child failed (exit %d)", st);
	it_assert(took * 1000 > FREEZE_MS + 500, "walk: the fork took %.2f s: "
		  "the eviction did not come during its freeze (nothing tested)",
		  took);

	/* remap: until a fork finds the other thread inside mremap() */
	for (tries = 0; tries < 10; tries++) {
		remapping = 1;
		pthread_create(&t, NULL, remapper, NULL);
		usleep(100000);
		st = fork_and_wait(1, &took);
		remapping = 0;
		pthread_join(t, NULL);
		if (st != NOT_TESTED)
			break;
	}
	it_assert(st != NOT_TESTED, "remap: no fork in 10 found the other "
		  "thread inside mremap(): nothing tested");
	it_assert(!st, "remap: the child failed (exit %d)", st);
	it_assert(it_check(stored, LEN, 1) < 0, "the parent reads wrong bytes");
	it_assert(it_check(resident, LEN, 2) < 0, "the parent reads wrong bytes");
	printf("children forked inside a walk and inside an mremap() evict "
	       "and read their memory (%d fork(s) for the second)\n", tries + 1);
	return 0;
}
