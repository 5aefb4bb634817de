/* SPDX-License-Identifier: MIT */
/* The agent's own address range (src/agent/reserve.c): every mapping it
 * hands out is the first fit a page-by-page walk of its bitmap finds,
 * through thousands of random maps and unmaps of mixed sizes and
 * alignments, and in a forked child whose parent's MADV_DONTFORK pieces
 * left holes.  The walk skips whole words and starts at the lowest page
 * that may be free; a hint left too high would hand out a later place
 * (or none), one too low only costs time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "regions.h"
#include "reserve.h"
#include "t.h"

/* what reserve.c needs from the rest of the agent */
int regions_exclude(uint64_t start, uint64_t len)
{
	(void)start;
	(void)len;
	return 0;
}

void regions_unexclude(uint64_t start, uint64_t len)
{
	(void)start;
	(void)len;
}

void spin_lock(int *word, sigset_t *saved)
{
	(void)saved;
	*word = 1;
}

void spin_unlock(int *word, const sigset_t *saved)
{
	(void)saved;
	*word = 0;
}

#define PAGE 4096ul
#define PAGES ((256ul << 20) / PAGE)
#define LIVE_MAX 4096

static uint8_t model[PAGES]; /* 1: taken */
static uint8_t *base;
static struct { uint8_t *p; size_t len; } live[LIVE_MAX];
static unsigned n_live;

/* the first fit, a page at a time: what reserve_map must return */
static size_t reference_fit(size_t n, size_t step)
{
	size_t i, j;

	for (i = 0; i + n <= PAGES; i += step) {
		for (j = i; j < i + n && !model[j]; j++)
			;
		if (j == i + n)
			return i;
	}
	return PAGES;
}

static void map_one(size_t n, size_t align)
{
	size_t want = reference_fit(n, align / PAGE);
	uint8_t *p = reserve_map(n * PAGE, align);

	if (want == PAGES) {
		t_assert(!p, "%zu pages aligned %zu: mapped at %zu, the "
			 "reference found no room", n, align,
			 p ? (size_t)(p - base) / PAGE : 0);
		return;
	}
	t_assert(p == base + want * PAGE, "%zu pages aligned %zu: at page "
		 "%ld, first fit is page %zu", n, align,
		 p ? (long)((p - base) / (long)PAGE) : -1L, want);
	/* fresh and writable */
	t_check(p[0] == 0 && p[n * PAGE - 1] == 0);
	p[0] = 1;
	memset(model + want, 1, n);
	if (n_live < LIVE_MAX) {
		live[n_live].p = p;
		live[n_live++].len = n * PAGE;
	}
}

static void unmap_one(unsigned k)
{
	size_t first = (size_t)(live[k].p - base) / PAGE;

	reserve_unmap(live[k].p, live[k].len);
	memset(model + first, 0, live[k].len / PAGE);
	live[k] = live[--n_live];
}

static void random_sizes(unsigned seed, unsigned ops)
{
	static const size_t aligns[] = { PAGE, 16 * PAGE, 512 * PAGE };
	unsigned i;

	srand(seed);
	for (i = 0; i < ops; i++) {
		int r = rand() % 100;

		/* some 300 live at most: the range never fills */
		if ((r < 55 && n_live < 300) || !n_live) {
			/* mostly small, some of a block or more, as the
			 * agent's stacks, buffers, slots and tables are */
			size_t n = r % 10 ? 1 + (size_t)rand() % 40 :
					    256 + (size_t)rand() % 1024;

			map_one(n, aligns[rand() % 3]);
		} else {
			unmap_one((unsigned)rand() % n_live);
		}
	}
	while (n_live)
		unmap_one(n_live - 1);
	t_check(reference_fit(PAGES, 1) == 0);
}

/* A MADV_DONTFORK piece is a hole in the child: reserved again there,
 * and handed out first (it is below everything else taken). */
static void forked_holes(void)
{
	uint8_t *a = reserve_map(64 * PAGE, PAGE);
	uint8_t *hole = reserve_map(32 * PAGE, PAGE);
	uint8_t *b = reserve_map(64 * PAGE, PAGE);
	int status;
	pid_t pid;

	t_check(a && hole && b && hole == a + 64 * PAGE);
	t_check(!madvise(hole, 32 * PAGE, MADV_DONTFORK));
	reserve_dontfork(hole, 32 * PAGE);
	pid = fork();
	if (pid < 0)
		t_error("fork: %m");
	if (!pid) {
		uint8_t *p;

		reserve_forked_child();
		p = reserve_map(16 * PAGE, PAGE);
		if (p != hole) {
			fprintf(stderr, "child: 16 pages at %p, the hole is %p\n",
				(void *)p, (void *)hole);
			_exit(1);
		}
		p[0] = 1;
		_exit(0);
	}
	t_check(waitpid(pid, &status, 0) == pid);
	t_assert(WIFEXITED(status) && !WEXITSTATUS(status),
		 "the child did not get the hole back first");
	reserve_unmap(a, 64 * PAGE);
	reserve_unmap(hole, 32 * PAGE);
	reserve_unmap(b, 64 * PAGE);
}

int main(void)
{
	reserve_init();
	if (!reserve_active())
		t_skip("no 256 MB range could be reserved (an address-space limit?)");
	/* its start: the first fit of anything in an empty range */
	base = reserve_map(PAGE, 512 * PAGE);
	t_check(base != NULL);
	reserve_unmap(base, PAGE);
	t_check(reserve_holds(base, 256ul << 20));

	random_sizes(1, 20000);
	random_sizes(7, 20000);
	forked_holes();
	random_sizes(42, 5000);
	printf("PASS: 45,000 random maps and unmaps each at the first fit; "
	       "a forked child's hole handed out first\n");
	return 0;
}
