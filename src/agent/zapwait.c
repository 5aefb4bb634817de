/* SPDX-License-Identifier: MIT */
/* REMOVEs whose zap has not been seen yet: see zapwait.h. */
#include <string.h>

#include "zapwait.h"

#define PAGE 4096ull
#define BLOCK (2ull << 20)
#define PAGES (BLOCK / PAGE)

/* one block each: the pages of a REMOVE not yet seen absent */
static struct wait {
	uint64_t blk;
	uint64_t pages[PAGES / 64];
} waits[ZAPWAIT_SLOTS];
static unsigned n_waits;
static int (*present)(uint64_t blk, uint64_t *bits);
static int (*calls_under_way)(void);

void zapwait_init(int (*present_pages)(uint64_t blk, uint64_t *bits),
		  int (*madvise_under_way)(void))
{
	present = present_pages;
	calls_under_way = madvise_under_way;
}

static struct wait *find(uint64_t blk)
{
	unsigned i;

	for (i = 0; i < n_waits; i++)
		if (waits[i].blk == blk)
			return &waits[i];
	return NULL;
}

int zapwait_note(uint64_t s, uint64_t e)
{
	uint64_t blk, a;
	int all = 1;

	for (blk = s & ~(BLOCK - 1); blk < e; blk += BLOCK) {
		struct wait *w = find(blk);

		if (!w) {
			if (n_waits == ZAPWAIT_SLOTS) {
				all = 0; /* the caller's window holds it */
				continue;
			}
			w = &waits[n_waits++];
			memset(w, 0, sizeof(*w));
			w->blk = blk;
		}
		for (a = (s > blk ? s : blk) & ~(PAGE - 1);
		     a < e && a < blk + BLOCK; a += PAGE) {
			unsigned p = (unsigned)((a - blk) / PAGE);

			w->pages[p / 64] |= 1ull << (p % 64);
		}
	}
	return all;
}

int zapwait_holds(uint64_t blk)
{
	struct wait *w = find(blk);
	uint64_t there[PAGES / 64], left = 0;
	unsigned i;

	if (!w)
		return 0;
	if (present(blk, there))
		return 1; /* cannot look: held */
	/* a page seen absent once was zapped (or never there): later it
	 * may be there again, the program's anew */
	for (i = 0; i < PAGES / 64; i++) {
		w->pages[i] &= there[i];
		left |= w->pages[i];
	}
	if (!left) {
		*w = waits[--n_waits];
		return 0;
	}
	/* pages still there: a call that zaps late, or one that never
	 * zaps (MADV_FREE), or one whose range has since been unmapped
	 * without an UNMAP (the block was no longer registered) and mapped
	 * again.  With no call under way, every one noted is done. */
	if (calls_under_way())
		return 1;
	zapwait_clear();
	return 0;
}

void zapwait_faulted(uint64_t addr)
{
	struct wait *w = n_waits ? find(addr & ~(BLOCK - 1)) : NULL;
	unsigned p;

	if (!w)
		return;
	p = (unsigned)((addr & (BLOCK - 1)) / PAGE);
	w->pages[p / 64] &= ~(1ull << (p % 64));
}

void zapwait_forget(uint64_t s, uint64_t e)
{
	unsigned i = 0, p;

	while (i < n_waits) {
		struct wait *w = &waits[i];
		uint64_t left = 0;

		if (w->blk >= e || w->blk + BLOCK <= s) {
			i++;
			continue;
		}
		for (p = 0; p < PAGES; p++)
			if (w->blk + p * PAGE >= s && w->blk + p * PAGE < e)
				w->pages[p / 64] &= ~(1ull << (p % 64));
		for (p = 0; p < PAGES / 64; p++)
			left |= w->pages[p];
		if (left)
			i++;
		else
			*w = waits[--n_waits];
	}
}

unsigned zapwait_count(void)
{
	return n_waits;
}

void zapwait_clear(void)
{
	memset(waits, 0, sizeof(waits));
	n_waits = 0;
}
