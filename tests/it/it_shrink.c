/* SPDX-License-Identifier: MIT */
/*
 * A block read back 64 KB at a time gives its compressed copy back a
 * frame at a time (store_release_frame): the pool's memory (the arena
 * memfd's pages, and pool_bytes / stored_bytes in uzswapctl stats)
 * shrinks as its frames come back, instead of staying whole until the
 * last one does (sort(1) in a memory cgroup was OOM-killed so, 463 MB of
 * compressed copies charged to it).  A record a forked child still needs
 * is left whole: the child reads back, right, the frames its parent got
 * back after the fork.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)
#define FRAME (64 * 1024)
#define FRAMES_PER_BLOCK (IT_BLOCK / FRAME)
#define SEED 91

/* Read one byte of frames @first, @first + @step, ... of every block. */
static void touch_frames(const uint8_t *p, unsigned first, unsigned step,
			 size_t len)
{
	for (size_t blk = 0; blk < len; blk += IT_BLOCK)
		for (unsigned f = first; f < FRAMES_PER_BLOCK; f += step)
			(void)*(volatile const uint8_t *)(p + blk +
							  (size_t)f * FRAME + 100);
}

int main(int argc, char **argv)
{
	uint64_t pool0, stored0, mem0, pool1, stored1, mem1;
	int to_child[2], status;
	uint8_t *a;
	pid_t kid;
	char go;

	it_setup(argc, argv);
	it_watchdog(240, "it_shrink");
	/* small pages: each touch brings back its 64 KB frame, no more */
	a = it_alloc(LEN, 0);
	it_fill(a, LEN, SEED);
	it_evict_all();
	pool0 = it_stat("pool_bytes");
	stored0 = it_stat("stored_bytes");
	mem0 = it_arena_bytes();
	it_assert(pool0 >= LEN / 4 && stored0 >= LEN / 4 && mem0 >= pool0,
		  "evicted %u MB: pool %lu, stored %lu, arena memfd %lu bytes",
		  (unsigned)(LEN / IT_MB), (unsigned long)pool0,
		  (unsigned long)stored0, (unsigned long)mem0);

	/* half of every block back, every other frame */
	touch_frames(a, 0, 2, LEN);
	pool1 = it_stat("pool_bytes");
	stored1 = it_stat("stored_bytes");
	mem1 = it_arena_bytes();
	printf("half of each block back: pool %lu -> %lu, stored %lu -> %lu, "
	       "arena memfd %lu -> %lu bytes\n", (unsigned long)pool0,
	       (unsigned long)pool1, (unsigned long)stored0,
	       (unsigned long)stored1, (unsigned long)mem0, (unsigned long)mem1);
	/* a page shared by a frame back and one stored stays: a bit over
	 * half is left */
	it_assert(stored1 < stored0 * 6 / 10 && stored1 > stored0 * 4 / 10,
		  "stored bytes %lu after half the frames came back, %lu before",
		  (unsigned long)stored1, (unsigned long)stored0);
	it_assert(pool1 < pool0 * 7 / 10, "pool %lu bytes after half the "
		  "frames came back, %lu before: not given back",
		  (unsigned long)pool1, (unsigned long)pool0);
	it_assert(mem0 - mem1 >= (pool0 - pool1) * 9 / 10,
		  "the arena memfd gave back %lu bytes, the pool %lu",
		  (unsigned long)(mem0 - mem1), (unsigned long)(pool0 - pool1));

	/* a child holds the records now: what its parent gets back next
	 * must stay in them */
	it_assert(!pipe(to_child), "pipe");
	kid = fork();
	it_assert(kid >= 0, "fork");
	if (!kid) {
		close(to_child[1]);
		if (read(to_child[0], &go, 1) != 1)
			_exit(2);
		_exit(it_check(a, LEN, SEED) < 0 ? 0 : 3);
	}
	close(to_child[0]);
	touch_frames(a, 1, 4, LEN);
	it_assert(it_stat("pool_bytes") == pool1, "pool %lu bytes while a "
		  "child holds the records, %lu before",
		  (unsigned long)it_stat("pool_bytes"), (unsigned long)pool1);
	it_assert(write(to_child[1], "g", 1) == 1, "write");
	it_assert(waitpid(kid, &status, 0) == kid, "waitpid");
	it_assert(WIFEXITED(status) && !WEXITSTATUS(status),
		  "the child read wrong bytes or died (status %#x)", status);
	close(to_child[1]);

	/* the rest, and every byte checked: nothing left in the pool */
	it_assert(it_check(a, LEN, SEED) < 0, "wrong bytes");
	it_assert(!it_stat("pool_bytes") && !it_stat("stored_bytes") &&
		  !it_stat("evicted_bytes"), "all back, yet pool %lu, stored "
		  "%lu, evicted %lu bytes", (unsigned long)it_stat("pool_bytes"),
		  (unsigned long)it_stat("stored_bytes"),
		  (unsigned long)it_stat("evicted_bytes"));
	printf("all back: every byte right, pool and stored at 0\n");
	return 0;
}
