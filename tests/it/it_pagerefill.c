/* SPDX-License-Identifier: MIT */
/*
 * An isolated touch inside a 64 KB frame brings back that 4 KB page
 * alone (refill.c): its neighbours stay stored, and read right later,
 * around the pages already back, after a write to one of them and a
 * drop of another; a frame all of whose pages came back one by one
 * leaves the pool.  A block partly back this way is taken again whole
 * by the next eviction (evict.c, complete_partial), and a fork child
 * reads the same bytes.  Small pages and THP blocks both.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "t.h"

#define LEN (8 * IT_MB)
#define FRAME 65536
#define PAGE 4096
#define FRAMES ((unsigned)(LEN / FRAME))
#define SEED 7

static void page_right(const uint8_t *p, size_t page, const char *what)
{
	it_assert(t_check_pattern_page(p + page * PAGE, page, SEED),
		  "%s: page %zu reads wrong", what, page);
}

/* the page written and the page dropped in step 2 */
static int special(size_t pg)
{
	return pg == 2 * 16 + 5 || pg == 2 * 16 + 9;
}

static void run(int huge)
{
	const char *kind = huge ? "THP blocks" : "small pages";
	uint8_t *p = it_alloc(LEN, huge);
	uint64_t r4k0, r64k0, ev;
	size_t f, pg;
	long bad;

	it_fill(p, LEN, SEED);
	it_evict_all();
	it_assert(it_resident_share(p, LEN) < 0.05, "%s: not evicted", kind);

	/* 1: page 5 of every frame but frame 3, alone */
	r4k0 = it_stat("restores_4k");
	r64k0 = it_stat("restores_64k");
	for (f = 0; f < FRAMES; f++)
		if (f != 3)
			page_right(p, f * 16 + 5, kind);
	it_assert(it_stat("restores_4k") - r4k0 == FRAMES - 1 &&
		  it_stat("restores_64k") == r64k0,
		  "%s: %lu pages and %lu frames restored for %u isolated touches",
		  kind, (unsigned long)(it_stat("restores_4k") - r4k0),
		  (unsigned long)(it_stat("restores_64k") - r64k0), FRAMES - 1);
	for (f = 0; f < FRAMES; f += 8)
		it_assert(it_resident_share(p + f * FRAME + 4 * PAGE, PAGE) == 0 &&
			  it_resident_share(p + f * FRAME + 6 * PAGE, PAGE) == 0,
			  "%s: a neighbour of a page restored alone is resident", kind);

	/* 2: write to a page back alone, drop another of its frame; then
	 * bring frame 3, in a MADV_RANDOM range, back page by page from its
	 * top: each page alone (the one before it is not back yet; RANDOM:
	 * the first page too), and the frame leaves the pool */
	memset(p + 2 * FRAME + 5 * PAGE + 100, 0xA5, 200);
	it_assert(!madvise(p + 2 * FRAME + 9 * PAGE, PAGE, MADV_DONTNEED) &&
		  !madvise(p + 3 * FRAME, FRAME, MADV_RANDOM),
		  "madvise: %s", strerror(errno));
	ev = it_stat("evicted_bytes");
	r64k0 = it_stat("restores_64k");
	for (pg = 16; pg-- > 0;)
		page_right(p, 3 * 16 + pg, kind);
	it_assert(it_stat("evicted_bytes") == ev - FRAME &&
		  it_stat("restores_64k") == r64k0,
		  "%s: frame 3 all back page by page: evicted %lu, was %lu; "
		  "%lu frames restored", kind,
		  (unsigned long)it_stat("evicted_bytes"), (unsigned long)ev,
		  (unsigned long)(it_stat("restores_64k") - r64k0));
	/* one VMA again, or the block cannot be moved whole */
	it_assert(!madvise(p + 3 * FRAME, FRAME, MADV_NORMAL), "MADV_NORMAL: %s",
		  strerror(errno));

	/* 3: a quarter of every block back (pages 1, 5, 9, 13 of each
	 * frame): the next eviction takes it again */
	for (f = 0; f < FRAMES; f++)
		for (pg = 1; pg < 16; pg += 4)
			(void)*(volatile uint8_t *)(p + f * FRAME + pg * PAGE);
	it_assert(it_resident_share(p, LEN) > 0.2, "%s: too little back", kind);
	/* a block where the program just dropped pages waits a second
	 * (an madvise's zap may still be under way: events.c) */
	usleep(1100 * 1000);
	it_evict_all();
	it_assert(it_resident_share(p, LEN) < 0.05, "%s: blocks partly back were "
		  "not taken again: %.0f %% resident", kind,
		  100 * it_resident_share(p, LEN));

	/* 4: every byte, the write kept, the dropped page zero */
	for (pg = 0; pg < LEN / PAGE; pg++) {
		const uint8_t *q = p + pg * PAGE;

		if (pg == 2 * 16 + 9) {
			for (size_t i = 0; i < PAGE; i++)
				it_assert(!q[i], "%s: a dropped page reads %#x at %zu",
					  kind, q[i], i);
		} else if (pg == 2 * 16 + 5) {
			for (size_t i = 100; i < 300; i++)
				it_assert(q[i] == 0xA5, "%s: the write to a page "
					  "back alone was lost at %zu", kind, i);
		} else {
			page_right(p, pg, kind);
		}
	}
	bad = it_check(p, 2 * FRAME, SEED);
	it_assert(bad < 0, "%s: frames 0-1 differ at %ld", kind, bad);

	/* 5: page 7 of every frame back alone, then a fork: the child and
	 * then the parent read every byte around those pages */
	it_evict_all();
	for (f = 0; f < FRAMES; f++)
		page_right(p, f * 16 + 7, kind);
	pid_t c = fork();

	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (!c) {
		for (pg = 0; pg < LEN / PAGE; pg++) {
			if (special(pg))
				continue;
			if (!t_check_pattern_page(p + pg * PAGE, pg, SEED))
				_exit(10);
		}
		_exit(0);
	}
	int st;

	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "%s: the fork child read wrong bytes (status %#x)", kind, st);
	for (pg = 0; pg < LEN / PAGE; pg++)
		if (!special(pg))
			page_right(p, pg, kind);

	munmap(p, LEN);
	printf("%s: %u isolated touches, a page each; the rest read right "
	       "around them, in a child too, and taken again whole\n",
	       kind, FRAMES);
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	run(0);
	run(1);
	return 0;
}
