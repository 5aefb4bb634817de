/* SPDX-License-Identifier: MIT */
/*
 * Another thread frees, moves and reads evicted memory while a fork is
 * under way (the agent frozen between its prepare hook and the kernel's
 * copy; UZSWAP_TEST_FORK_FREEZE_MS holds it there).  What that thread
 * reads must be right: zeros after its MADV_DONTNEED, its data after
 * its mremap.  The agent once put events read during the freeze aside
 * while their threads went on, and served their reads from the table
 * as it was before (the stress test's "non-zero after MADV_DONTNEED").
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define FREEZE_MS "1500"

static uint8_t *dropped, *moved, *moved_whole, *untouched;

static void *other_thread(void *arg)
{
	uint8_t *to;
	size_t i;

	(void)arg;
	usleep(300000); /* the fork is in its freeze by now */
	/* part of an evicted block, then read: zeros */
	it_assert(!madvise(dropped + IT_MB, 256 * 1024, MADV_DONTNEED), "madvise failed");
	for (i = 0; i < 256 * 1024; i++)
		it_assert(!dropped[IT_MB + i], "byte %zu after MADV_DONTNEED "
			  "during a fork: %#x, want 0", i, dropped[IT_MB + i]);
	/* evicted blocks moved one page off their alignment, then read */
	to = it_alloc(LEN + IT_BLOCK, 0);
	/* the system call itself, as glibc's realloc makes it: the
	 * interposed mremap would wait for the fork to end */
	to = (uint8_t *)syscall(SYS_mremap, moved, LEN, LEN,
				MREMAP_MAYMOVE | MREMAP_FIXED, to + 4096);
	it_assert(to != MAP_FAILED, "mremap failed");
	moved = to;
	it_assert(it_check(moved, LEN, 2) < 0, "data moved by an unaligned "
		  "mremap during a fork read back wrong at %ld",
		  it_check(moved, LEN, 2));
	/* and whole blocks moved to a new 2 MB-aligned place */
	to = it_alloc(LEN, 0);
	to = (uint8_t *)syscall(SYS_mremap, moved_whole, LEN, LEN,
				MREMAP_MAYMOVE | MREMAP_FIXED, to);
	it_assert(to != MAP_FAILED, "mremap failed");
	moved_whole = to;
	it_assert(it_check(moved_whole, LEN, 3) < 0, "data moved by an "
		  "aligned mremap during a fork read back wrong at %ld",
		  it_check(moved_whole, LEN, 3));
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t c;
	size_t i;
	int st;

	setenv("UZSWAP_TEST_FORK_FREEZE_MS", FREEZE_MS, 1);
	it_setup(argc, argv);
	alarm(120);
	dropped = it_alloc(LEN, 1);
	moved = it_alloc(LEN, 1);
	moved_whole = it_alloc(LEN, 1);
	untouched = it_alloc(LEN, 1);
	it_fill(dropped, LEN, 1);
	it_fill(moved, LEN, 2);
	it_fill(moved_whole, LEN, 3);
	it_fill(untouched, LEN, 4);
	memset(dropped + IT_MB, 0x77, 256 * 1024); /* no zero pages there */
	it_evict_all();
	it_assert(it_stat("evicted_bytes") >= 4 * LEN - 4 * IT_BLOCK,
		  "eviction took too little");
	pthread_create(&t, NULL, other_thread, NULL);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(it_check(untouched, LEN, 4) < 0 ? 0 : 1);
	pthread_join(t, NULL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the child read wrong bytes (status %#x)", st);
	/* once more, after the fork, and the rest of each region */
	for (i = 0; i < 256 * 1024; i++)
		it_assert(!dropped[IT_MB + i], "dropped byte %zu came back", i);
	it_assert(it_check(dropped, IT_MB, 1) < 0, "wrong bytes before the drop");
	it_assert(it_check(moved, LEN, 2) < 0, "moved data wrong after the fork");
	it_assert(it_check(moved_whole, LEN, 3) < 0, "moved data wrong after the fork");
	it_assert(it_check(untouched, LEN, 4) < 0, "the parent reads wrong bytes");
	printf("madvise and mremap during a fork: every byte right\n");
	return 0;
}
