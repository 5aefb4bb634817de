/* SPDX-License-Identifier: MIT */
/*
 * Another thread drops and moves evicted memory by raw system calls (as
 * glibc's free(), realloc() and heap trims do) while a fork is held in
 * its freeze (UZSWAP_TEST_FORK_FREEZE_MS): after the prepare hook's
 * snapshot of the table, before the kernel's copy.  It does not read that
 * memory afterwards, so the child faults it in through its own agent,
 * which starts from the snapshot.  The calls returned before the copy
 * (ops_done, read from the child's copy, says so), so the child must read
 * zeros where the drop was and, with "moves", the data at the moves' new
 * places.  From the review of 2026-12-06 (probe p1): the child read the
 * old bytes where the drop was (fixed: fork_window_drop hands the drop
 * to the child).  The moves are a known bug, not fixed (README "Limits",
 * DESIGN.md section 9 "Known gap"): `it_forkwindow moves` fails, and
 * make check runs the drop alone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define NOT_TESTED 3 /* the child's exit: the window was missed */

static uint8_t *dropped, *moved, *moved_whole;
static volatile int ops_done;
static int moves; /* argv[1] "moves": the known bug too */
/* argv[1] "noagent": the child's descriptor table full, so its own agent
 * cannot start and the parent fills its memory (rawkid_adopt_forked) */
static int noagent;
static int held[64], n_held;

/* Leave @free_slots of 64 descriptors free (for the child: the agent
 * needs more than that to start). */
static void fill_fd_table(int free_slots)
{
	struct rlimit rl = { 64, 64 };
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), fd;

	it_assert(devnull >= 0 && !setrlimit(RLIMIT_NOFILE, &rl),
		  "cannot lower RLIMIT_NOFILE");
	while (n_held < 64 && (fd = dup(devnull)) >= 0)
		held[n_held++] = fd;
	while (free_slots-- > 0 && n_held)
		close(held[--n_held]);
}

static void *other_thread(void *arg)
{
	uint8_t *to;

	(void)arg;
	usleep(300000); /* the fork is in its freeze by now */
	/* glibc's own free()/realloc() make these calls with no
	 * interposer in the way: raw system calls here */
	it_assert(!syscall(SYS_madvise, dropped + IT_MB, 256 * 1024, MADV_DONTNEED),
		  "madvise failed");
	if (!moves) {
		__atomic_store_n(&ops_done, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	to = it_alloc(LEN + IT_BLOCK, 0);
	to = (uint8_t *)syscall(SYS_mremap, moved, LEN, LEN,
				MREMAP_MAYMOVE | MREMAP_FIXED, to + 4096);
	it_assert(to != MAP_FAILED, "mremap failed");
	moved = to;
	to = it_alloc(LEN, 0);
	to = (uint8_t *)syscall(SYS_mremap, moved_whole, LEN, LEN,
				MREMAP_MAYMOVE | MREMAP_FIXED, to);
	it_assert(to != MAP_FAILED, "mremap failed");
	moved_whole = to;
	__atomic_store_n(&ops_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Does the child read wrong bytes in @p, filled with @seed and moved
 * by an @how mremap in the window? */
static int moved_wrong(const uint8_t *p, uint64_t seed, const char *how)
{
	long bad = it_check(p, LEN, seed);

	if (bad < 0)
		return 0;
	fprintf(stderr, "CHILD BUG: %s-mremap'd data wrong at offset %ld "
		"(byte %#x)\n", how, bad, p[bad]);
	return 1;
}

static int child(void)
{
	size_t i, nz = 0;
	int fails = 0;

	if (!ops_done) {
		fprintf(stderr, "child: the thread's calls came after the copy: "
			"nothing tested\n");
		return NOT_TESTED;
	}
	if (noagent && it_agent_threads(0, NULL, NULL)) {
		fprintf(stderr, "child: its agent started: nothing tested\n");
		return NOT_TESTED;
	}
	for (i = 0; i < 256 * 1024; i++)
		nz += dropped[IT_MB + i] != 0;
	if (nz) {
		fprintf(stderr, "CHILD BUG: %zu bytes non-zero after an "
			"MADV_DONTNEED that returned before the fork's copy\n", nz);
		fails++;
	}
	if (moves) {
		fails += moved_wrong(moved, 2, "unaligned");
		fails += moved_wrong(moved_whole, 3, "aligned");
	}
	if (!fails)
		fprintf(stderr, "child: all right\n");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t c;
	size_t i;
	int st;

	moves = argc > 1 && !strcmp(argv[1], "moves");
	noagent = argc > 1 && !strcmp(argv[1], "noagent");
	if (argc == 1 && !getenv("IT_UNDER_AGENT"))
		it_run_mode(argv, "noagent"); /* with a daemon of its own */
	setenv("UZSWAP_TEST_FORK_FREEZE_MS", "1500", 1);
	it_setup(argc, argv);
	alarm(120);
	dropped = it_alloc(LEN, 1);
	moved = it_alloc(LEN, 1);
	moved_whole = it_alloc(LEN, 1);
	it_fill(dropped, LEN, 1);
	it_fill(moved, LEN, 2);
	it_fill(moved_whole, LEN, 3);
	memset(dropped + IT_MB, 0x77, 256 * 1024);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") >= 3 * LEN - 3 * IT_BLOCK,
		  "eviction took too little");
	if (noagent)
		fill_fd_table(3);
	pthread_create(&t, NULL, other_thread, NULL);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(child());
	while (n_held)
		close(held[--n_held]);
	pthread_join(t, NULL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	fprintf(stderr, "child status %#x\n", st);
	/* the fork took its snapshot: nothing was brought back first (the
	 * two ranges read last are still out) */
	it_assert(it_stat("evicted_bytes") >= 2 * LEN - 2 * IT_BLOCK,
		  "the fork brought the memory back first (no snapshot): "
		  "nothing tested");
	for (i = 0; i < 256 * 1024; i++)
		it_assert(!dropped[IT_MB + i], "parent: dropped byte %zu came back", i);
	it_assert(it_check(moved, LEN, 2) < 0, "parent: moved data wrong");
	it_assert(it_check(moved_whole, LEN, 3) < 0, "parent: moved data wrong");
	it_assert(!WIFEXITED(st) || WEXITSTATUS(st) != NOT_TESTED, "nothing "
		  "tested: the child said why above");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the child read wrong bytes (status %#x)", st);
	printf("memory dropped%s in a fork's window: the child%s reads it "
	       "right\n", moves ? " and moved" : "",
	       noagent ? ", filled by its parent," : "");
	return 0;
}
