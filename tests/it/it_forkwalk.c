/* SPDX-License-Identifier: MIT */
/*
 * A fork copies the agent's state as its thread has it at that moment.
 * The daemon's eviction request, read while a fork was under way, began
 * a walk that the kernel copied into the child as under way: the child's
 * agent then said EBUSY to every eviction for good, and (the limit
 * guard's own flag, the same way) kept each fault at a memory cgroup's
 * limit waiting a second for room nobody was making.  The stress test
 * found it at --limit 160: a forked child that read its memory one
 * second per 64 KB frame.  Here the fork is held with the agent frozen
 * (UZSWAP_TEST_FORK_FREEZE_MS), an eviction is asked for meanwhile, and
 * its walk holds at its start while a fork is pending
 * (UZSWAP_TEST_WALK_FORK_MS), so the kernel copies the child inside it.
 * The child must then be able to evict its own memory, and read it back
 * right.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)

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

/* The child: its own copy of @resident, then all it has, evicted by its
 * own agent, and read back. */
static int child(void)
{
	char out[4096];
	int st;

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

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t c;
	int st;

	setenv("UZSWAP_TEST_FORK_FREEZE_MS", "1000", 1);
	setenv("UZSWAP_TEST_WALK_FORK_MS", "2000", 1);
	it_setup(argc, argv);
	alarm(120);
	stored = it_alloc(LEN, 1);
	resident = it_alloc(LEN, 1);
	it_fill(stored, LEN, 1);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") >= LEN - IT_BLOCK,
		  "eviction took too little");
	it_fill(resident, LEN, 2); /* the walk in the fork has this to take */
	pthread_create(&t, NULL, ask_eviction, NULL);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(child());
	pthread_join(t, NULL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the child failed (status %#x)", st);
	it_assert(it_check(stored, LEN, 1) < 0, "the parent reads wrong bytes");
	it_assert(it_check(resident, LEN, 2) < 0, "the parent reads wrong bytes");
	printf("a child forked inside a walk evicts and reads its memory\n");
	return 0;
}
