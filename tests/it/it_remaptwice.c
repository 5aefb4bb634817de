/* SPDX-License-Identifier: MIT */
/*
 * Evicted memory moved twice in a row by the mremap system call itself
 * (glibc's realloc of a large chunk does it with its internal mremap,
 * which no interposer sees).  A move that is not a multiple of 2 MB
 * leaves the stored pages to be copied to the new range later (a remap
 * task); when the range moved again first, the copy went to the first
 * range, gone by then, and the pages were dropped: about 75 % of them
 * read back as zeros, every time (review probe p_remap2).  The copy now
 * follows the second move.  Also: part of the first destination
 * dropped (MADV_DONTNEED) before the second move reads as zeros there
 * and right elsewhere; the range is still one mapping that moves again
 * (a part left registered split it: EFAULT, review probe p_chain); no
 * frame stays stored at the end; and glibc's realloc, twice, after an
 * eviction.  The second move may land 2 MB off the first one's source,
 * on the old place of a block whose pages still wait to be copied: a
 * fault there restored that block's old pages, and the release of a
 * block copied away unregistered the range a copy was still to fill
 * (review probe p_chain back2m/back2mb: 13 to 392 of 1024 pages wrong).
 * And a range grown by the raw call (its new tail comes registered),
 * then moved whole to a fixed place by the program's own mremap: the
 * registered pieces left made the move fail with EFAULT every time,
 * Linux 6.17+ having moved part of it first.  And three moves, the
 * last one by a multiple of 2 MB, before any copy ran.  And the first
 * raw move of the process landing back next to where it came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "itest.h"

#define LEN (4 * IT_MB)
#define ROUNDS 10

/* The system call, not the agent's interposed mremap (which brings the
 * range back first). */
static void *raw_mremap(void *old, size_t len, void *to)
{
	void *p = (void *)syscall(SYS_mremap, old, len, len,
				  MREMAP_MAYMOVE | MREMAP_FIXED, to);

	it_assert(p == to, "mremap: %s", strerror(errno));
	return p;
}

/* Moved by @shift1, then to @shift2 past a 2 MB boundary elsewhere;
 * with @drop, the first 256 KB dropped between the two moves. */
static void twice(int round, size_t shift1, size_t shift2, int drop)
{
	uint8_t *m = it_alloc(LEN, 1);
	uint8_t *first = it_alloc(LEN + IT_BLOCK, 1);
	uint8_t *second = it_alloc(LEN + IT_BLOCK, 1);
	/* 260 KB: a frame dropped in part too */
	size_t dropped = drop ? 260 * 1024 : 0;
	/* mapped, not malloc'd: 4 MB freed into the heap (glibc's mmap
	 * threshold grows) stayed there evicted, never read again, and
	 * counted as stored at the end */
	uint8_t *ref = it_alloc(LEN, 0), *p;

	it_fill(ref, LEN, 100 + round);
	memset(ref, 0, dropped);
	it_fill(m, LEN, 100 + round);
	it_evict_all();
	p = raw_mremap(m, LEN, first + shift1);
	if (drop)
		it_assert(!madvise(p, dropped, MADV_DONTNEED), "madvise: %s",
			  strerror(errno));
	p = raw_mremap(p, LEN, second + shift2);
	for (size_t off = 0; off < LEN; off += 4096)
		it_assert(!memcmp(p + off, ref + off, 4096), "round %d (moved by "
			  "%zu, then %zu%s): page at %zu reads wrong (%s)", round,
			  shift1, shift2, drop ? ", part dropped" : "",
			  off, off < dropped ? "dropped: not zero" : "not its data");
	munmap(ref, LEN);
	/* still one mapping: a part left registered split it, and this
	 * failed with EFAULT */
	p = raw_mremap(p, LEN, first + shift1);
	munmap(p, LEN);
	munmap(first, LEN + IT_BLOCK);
	munmap(second, LEN + IT_BLOCK);
}

/* Moved 4 KB away, then back 2 MB before (@dir -1) or after (+1) its
 * first place: half of it where a block of it was stored. */
static void back_onto_source(int round, int dir)
{
	uint8_t *area = it_alloc(LEN + 2 * IT_BLOCK, 1);
	uint8_t *m = area + IT_BLOCK, *first = it_alloc(LEN + IT_BLOCK, 1);
	uint8_t *p;
	long bad;

	it_fill(m, LEN, 200 + round);
	it_evict_all();
	p = raw_mremap(m, LEN, first + 4096);
	p = raw_mremap(p, LEN, m + dir * (long)IT_BLOCK);
	bad = it_check(p, LEN, 200 + round);
	it_assert(bad < 0, "round %d (moved away, then %s its first place by "
		  "2 MB): byte at %ld reads wrong", round,
		  dir < 0 ? "before" : "after", bad);
	munmap(area, LEN + 2 * IT_BLOCK);
	munmap(first, LEN + IT_BLOCK);
}

/* Away, back 2 MB after its first place, then away again by a multiple
 * of 2 MB before any copy ran: that last move re-keyed the first
 * place's block, whose pages still waited in a copy, and the copy then
 * found nothing (review probe p_rev c3al: 392 of 1024 pages zero). */
static void three_moves_last_aligned(int round)
{
	uint8_t *area = it_alloc(LEN + 2 * IT_BLOCK, 1);
	uint8_t *m = area + IT_BLOCK, *first = it_alloc(LEN + IT_BLOCK, 1);
	uint8_t *last = it_alloc(LEN, 1), *p;
	long bad;

	it_fill(m, LEN, 500 + round);
	it_evict_all();
	p = raw_mremap(m, LEN, first + 4096);
	p = raw_mremap(p, LEN, m + IT_BLOCK);
	p = raw_mremap(p, LEN, last);
	bad = it_check(p, LEN, 500 + round);
	it_assert(bad < 0, "round %d (three moves, the last one aligned): byte "
		  "at %ld reads wrong", round, bad);
	munmap(area, LEN + 2 * IT_BLOCK);
	munmap(first, LEN + IT_BLOCK);
	munmap(last, LEN);
}

/* Grown by 2 MB by the raw call, then moved by the interposed one. */
static void grown_then_moved(int round)
{
	uint8_t *m = it_alloc(LEN, 1), *to = it_alloc(LEN + 3 * IT_BLOCK, 1);
	uint8_t *g, *p;
	volatile uint8_t sink = 0;
	long bad;

	it_fill(m, LEN, 400 + round);
	it_evict_all();
	g = (void *)syscall(SYS_mremap, m, LEN, LEN + IT_BLOCK, MREMAP_MAYMOVE);
	it_assert(g != MAP_FAILED, "growing mremap: %s", strerror(errno));
	sink += g[0] + g[LEN + 100]; /* a block back, the tail touched */
	p = mremap(g, LEN + IT_BLOCK, LEN + IT_BLOCK, MREMAP_MAYMOVE | MREMAP_FIXED,
		   to + 4096);
	it_assert(p == to + 4096, "round %d: mremap of a range grown by the "
		  "system call: %s", round, strerror(errno));
	bad = it_check(p, LEN, 400 + round);
	it_assert(bad < 0, "round %d (grown, then moved): byte at %ld reads "
		  "wrong", round, bad);
	for (size_t off = LEN; off < LEN + IT_BLOCK; off++)
		it_assert(!p[off], "round %d: grown tail not zero at %zu", round, off);
	munmap(p, LEN + IT_BLOCK);
	(void)sink;
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	/* a hang is a failure: the program's thread waits killably in the
	 * kernel, for an event only the agent's stuck thread can read */
	it_watchdog(300, " (it_remaptwice)");
	/* first, before any other move: the agent mapped its list of
	 * copies at its first one, into the hole this move leaves, which
	 * the move back then replaced; the agent faulted on its own
	 * userfaultfd and both threads waited for good */
	back_onto_source(0, 1);
	for (int r = 0; r < ROUNDS; r++) {
		twice(r, 4096, 0, 0);
		twice(r, 4096, 12288, 0);
		twice(r, IT_BLOCK, 8192, 0);
		twice(r, 4096, 0, 1);
		back_onto_source(r, 1);
		back_onto_source(r, -1);
		grown_then_moved(r);
		three_moves_last_aligned(r);
	}
	/* nothing left stored: a frame dropped in parts (the halves of a
	 * task split by a drop or a move) stayed stored for good, and its
	 * block kept the next mapping there from being evicted */
	it_assert(it_stat("evicted_bytes") == 0, "%lu bytes still stored after "
		  "every moved range was read back or unmapped",
		  (unsigned long)it_stat("evicted_bytes"));
	printf("%d rounds of six double moves of evicted memory, three moves "
	       "and a grown range moved whole: every byte right, nothing left "
	       "stored\n", ROUNDS);
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = LEN - 64;
		uint8_t *a = malloc(n);

		it_assert(a, "malloc");
		it_fill(a, n, 300 + r);
		it_evict_all();
		a = realloc(a, 2 * LEN);
		a = realloc(a, 4 * LEN);
		it_assert(a, "realloc");
		it_assert(it_check(a, n, 300 + r) < 0, "round %d: realloc twice "
			  "read a wrong byte", r);
		free(a);
	}
	printf("%d rounds of realloc twice after an eviction: every byte "
	       "right\n", ROUNDS);
	return 0;
}
