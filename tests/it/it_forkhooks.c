/* SPDX-License-Identifier: MIT */
/*
 * The program's own fork handlers, registered before the agent's (a
 * library's constructor: tests/lib/atfork_first.c), run inside the
 * agent's fork hooks.  Found by a review (probes p_forkmap and
 * p_atfork_wipe):
 *  - a child handler that maps and fills memory: the kernel may put it
 *    where the parent's staging was (MADV_DONTFORK, a hole in the
 *    child), and the child's agent mapped its staging over it there
 *    (MAP_FIXED): the program's bytes were gone;
 *  - madvise(MADV_WIPEONFORK) in a prepare or parent handler: the
 *    interposer took the fork lock this thread already held, for ever,
 *    with every signal blocked.
 * A watchdog process ends a hang (no signal reaches the hung thread).
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define MAPS 24
#define GENERATIONS 6

extern void (*atfork_first_prepare_fn)(void);
extern void (*atfork_first_parent_fn)(void);
extern void (*atfork_first_child_fn)(void);

static uint8_t *maps[MAPS], *wipe;
static size_t lens[MAPS];

/* In the child, before the agent's child hook: new memory, filled. */
static void map_in_child(void)
{
	static const size_t sz[] = { 2u << 20, 4096, 2u << 20, 64u << 10,
				     1u << 20, 2u << 20 };
	int i;

	for (i = 0; i < MAPS; i++) {
		lens[i] = sz[i % 6];
		maps[i] = mmap(NULL, lens[i], PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] != MAP_FAILED)
			memset(maps[i], 0xa0 + i, lens[i]);
	}
}

static void wipe_in_hook(void)
{
	madvise(wipe, 4096, MADV_WIPEONFORK);
}

/* Evict, fork: the child checks what its handler mapped and the evicted
 * memory, and forks on. */
static void child_maps(void)
{
	uint8_t *m = it_alloc(32 * IT_MB, 1);
	int g, st, i;

	it_fill(m, 32 * IT_MB, 9);
	atfork_first_child_fn = map_in_child;
	for (g = 0; g < GENERATIONS; g++) {
		pid_t c;

		it_evict_all();
		c = fork();
		it_assert(c >= 0, "fork failed");
		if (c) {
			it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				_exit(1); /* the child said why */
			if (g)
				_exit(0); /* passed on up the chain */
			return;
		}
		for (i = 0; i < MAPS; i++)
			for (size_t k = 0; maps[i] != MAP_FAILED && k < lens[i]; k += 4096)
				it_assert(maps[i][k] == 0xa0 + i, "generation %d: "
					  "byte %zu of what its fork handler mapped "
					  "is %#x, not %#x", g, k, maps[i][k], 0xa0 + i);
		it_assert(it_check(m, 32 * IT_MB, 9) < 0, "generation %d: "
			  "evicted memory wrong", g);
		for (i = 0; i < MAPS; i++)
			if (maps[i] != MAP_FAILED)
				munmap(maps[i], lens[i]);
	}
	_exit(0);
}

/* madvise(MADV_WIPEONFORK) from a prepare, then a parent handler. */
static void wipe_in_hooks(void)
{
	int round, st;

	wipe = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	it_assert(wipe != MAP_FAILED, "mmap failed");
	for (round = 0; round < 2; round++) {
		pid_t c;

		atfork_first_prepare_fn = round ? NULL : wipe_in_hook;
		atfork_first_parent_fn = round ? wipe_in_hook : NULL;
		c = fork();
		it_assert(c >= 0, "fork failed");
		if (!c)
			_exit(0);
		it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st), "child");
	}
	atfork_first_prepare_fn = atfork_first_parent_fn = NULL;
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	it_watchdog(90, " inside fork()");
	child_maps();
	printf("%d generations: what a fork handler mapped in each child "
	       "stayed whole, evicted memory right\n", GENERATIONS);
	wipe_in_hooks();
	printf("madvise(MADV_WIPEONFORK) in a prepare and a parent handler: "
	       "no hang\n");
	return 0;
}
