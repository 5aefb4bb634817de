/* SPDX-License-Identifier: MIT */
/*
 * fork() when the application's descriptors get in the way of the link
 * the agent hands a child down (fork.c): another thread dup2()ing onto
 * the numbers the link sits at during the fork (1 child in 10 read
 * wrong bytes), and a table with only a few free slots, too few for the
 * child to start an agent of its own (the child hung).  Every child
 * must read every evicted byte: from its own agent, or filled by its
 * parent's.  And the agent never closes a descriptor of the
 * application's: a dup2() onto the link's number between the agent's
 * check that it is still its socket and its close (widened here by
 * UZSWAP_TEST_FD_CLOSE_DELAY_MS, in a run of its own: the agent reads
 * its environment at its start) lost the application its file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define FORKS 150

static uint8_t *mem;
/* set by the main thread, read by another: atomic (volatile is not) */
static int stop;
static int devnull;

/* Our own descriptors, again and again, at the agent's numbers. */
static void *dup2_loop(void *arg)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int fd = 900; fd < 908; fd++)
			dup2(devnull, fd);
		for (volatile int spin = 0; spin < 200000; spin++)
			;
		for (int fd = 900; fd < 908; fd++)
			close(fd);
	}
	return arg;
}

/* Descriptors of our own at 900..915 for 30 ms at a time, each checked
 * to be still ours before we close it; counts those that were not. */
static int lost;

static void *dup2_hold_loop(void *arg)
{
	struct timespec hold = { 0, 30 * 1000 * 1000 }, gap = { 0, 5 * 1000 * 1000 };
	struct stat want, st;

	fstat(devnull, &want);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int fd = 900; fd < 916; fd++)
			dup2(devnull, fd);
		nanosleep(&hold, NULL);
		for (int fd = 900; fd < 916; fd++) {
			if (fstat(fd, &st) || st.st_ino != want.st_ino ||
			    st.st_dev != want.st_dev)
				__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
			close(fd);
		}
		nanosleep(&gap, NULL);
	}
	return arg;
}

/* Fork; the child checks every byte within 20 s.  0 when it did. */
static int child_reads(uint64_t seed)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (!c) {
		alarm(20);
		_exit(it_check(mem, LEN, seed) < 0 ? 0 : 1);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : st;
}

static void dup2_race(void)
{
	pthread_t t;
	int i, bad = 0;

	pthread_create(&t, NULL, dup2_loop, NULL);
	for (i = 0; i < FORKS; i++)
		bad += child_reads(41) != 0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	it_assert(!bad, "%d of %d children read wrong bytes or hung while "
		  "another thread dup2()ed onto 900..907", bad, FORKS);
	printf("dup2 onto the link's numbers during %d forks: every child right\n",
	       FORKS);
}

static void dup2_kept(void)
{
	pthread_t t;
	int i, bad = 0;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, dup2_hold_loop, NULL);
	for (i = 0; i < FORKS / 3; i++)
		bad += child_reads(41) != 0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	it_assert(!bad, "%d of %d children read wrong bytes or hung", bad, FORKS / 3);
	it_assert(!lost, "%d of the application's descriptors at 900..915 were "
		  "closed under it during %d forks", lost, FORKS / 3);
	printf("dup2 onto the link's numbers while the agent closes them: "
	       "none of ours lost in %d forks\n", FORKS / 3);
}

/* A table of 64 with @free slots left: the child cannot start an agent */
static void nearly_full(int free_slots)
{
	struct rlimit old, rl = { 64, 64 };
	int st, fd, got[64], n = 0;

	getrlimit(RLIMIT_NOFILE, &old);
	it_assert(!setrlimit(RLIMIT_NOFILE, &rl), "setrlimit");
	while ((fd = dup(devnull)) >= 0)
		got[n++] = fd;
	for (int i = 0; i < free_slots && n; i++)
		close(got[--n]);
	st = child_reads(41);
	while (n)
		close(got[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	it_assert(!st, "%d free descriptor slots at fork: the child read "
		  "wrong bytes or hung (status %#x)", free_slots, st);
	printf("%d free descriptor slots at fork: the child right\n", free_slots);
}

int main(int argc, char **argv)
{
	int kept = argc > 1 && !strcmp(argv[1], "kept");

	if (!getenv("IT_UNDER_AGENT")) {
		/* the agent reads its environment at its start only: the
		 * widened window is a run of its own */
		if (kept)
			setenv("UZSWAP_TEST_FD_CLOSE_DELAY_MS", "20", 1);
		else
			it_run_mode(argv, "kept");
	}
	it_setup(argc, argv);
	alarm(300);
	mem = it_alloc(LEN, 1);
	it_fill(mem, LEN, 41);
	it_evict_all();
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	it_assert(devnull >= 0, "cannot open /dev/null");
	if (kept) {
		dup2_kept();
		return 0;
	}
	dup2_race();
	nearly_full(2);
	nearly_full(5);
	it_assert(it_check(mem, LEN, 41) < 0, "the parent reads wrong bytes");
	return 0;
}
