/* SPDX-License-Identifier: MIT */
/* REMOVEs whose zap has not been seen (src/agent/zapwait.c), against a
 * model of which pages are there: a block held while a page of its range
 * has not been seen absent, free once each has been (even if there again
 * later) or no madvise call is under way, and a full table noting no
 * more, never holding more. */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "zapwait.h"

#define MB2 (2ull << 20)
#define BLOCKS 256 /* the model: blocks of 512 pages at BASE */
#define BASE 0x7f0000000000ull
#define BLK(i) (BASE + (uint64_t)(i) * MB2)
#define PG(b, i) (BLK(b) + (uint64_t)(i) * 4096)

static unsigned char there[BLOCKS][512];
static unsigned looks;
static int calls_inside = 1; /* the model: a madvise call under way */
static unsigned asked;

static int model_under_way(void)
{
	asked++;
	return calls_inside;
}

static int model_pages(uint64_t blk, uint64_t *bits)
{
	unsigned b = (unsigned)((blk - BASE) / MB2), p;

	looks++;
	memset(bits, 0, 64);
	for (p = 0; p < 512; p++)
		if (there[b][p])
			bits[p / 64] |= 1ull << (p % 64);
	return 0;
}

static void one_range(void)
{
	zapwait_clear();
	memset(there, 1, sizeof(there));
	t_assert(zapwait_note(PG(0, 10), PG(0, 20)), "noted");
	t_assert(zapwait_holds(BLK(0)), "its block, pages still there");
	t_assert(!zapwait_holds(BLK(1)), "the next block");
	memset(there[0] + 10, 0, 9); /* all but page 19 zapped */
	t_assert(zapwait_holds(BLK(0)), "one page of it still there");
	memset(there[0] + 10, 1, 9); /* and the program writes them again */
	there[0][19] = 0;
	t_assert(!zapwait_holds(BLK(0)), "each page seen absent once: free");
	/* a fault on a page says it is absent too */
	t_assert(zapwait_note(PG(2, 0), PG(2, 2)), "noted");
	zapwait_faulted(PG(2, 0) + 100);
	t_assert(zapwait_holds(BLK(2)), "page 1 not yet seen absent");
	zapwait_faulted(PG(2, 1));
	t_assert(!zapwait_holds(BLK(2)), "both faulted: free");
	t_assert(zapwait_count() == 0, "forgotten");
	looks = 0;
	t_assert(!zapwait_holds(BLK(0)), "nothing noted");
	t_assert(!looks, "nothing noted: no look at the pages");
	/* across three blocks: one entry each */
	t_assert(zapwait_note(PG(3, 500), PG(5, 3)), "noted");
	t_assert(zapwait_count() == 3, "%u entries for three blocks",
		 zapwait_count());
	memset(there[4], 0, 512);
	t_assert(!zapwait_holds(BLK(4)), "the middle block zapped");
	t_assert(zapwait_holds(BLK(3)) && zapwait_holds(BLK(5)),
		 "the ends not yet");
	/* unmapped: a new mapping there, its pages present, is not held */
	zapwait_forget(BLK(3), BLK(4));
	t_assert(!zapwait_holds(BLK(3)), "unmapped: forgotten");
	zapwait_forget(PG(5, 0), PG(5, 1));
	t_assert(zapwait_holds(BLK(5)), "pages 1 and 2 of it still noted");
	zapwait_forget(PG(5, 1), PG(5, 3));
	t_assert(!zapwait_holds(BLK(5)), "all of it unmapped");
	t_assert(zapwait_count() == 0, "%u left", zapwait_count());
}

static void full_table(void)
{
	unsigned i;

	zapwait_clear();
	memset(there, 1, sizeof(there));
	for (i = 0; i < ZAPWAIT_SLOTS; i++)
		t_assert(zapwait_note(PG(i, 0), PG(i, 1)), "room for %u", i);
	/* full: the new block is not noted, and nothing else grows */
	t_assert(!zapwait_note(PG(200, 0), PG(200, 1)), "no room said");
	t_assert(!zapwait_holds(BLK(200)), "not noted: not held here");
	t_assert(!zapwait_holds(BLK(199)), "nothing between held");
	t_assert(zapwait_holds(BLK(5)), "the noted ones still held");
	there[5][0] = 0;
	t_assert(!zapwait_holds(BLK(5)), "one zapped");
	t_assert(zapwait_note(PG(200, 0), PG(200, 1)), "room again");
	t_assert(zapwait_holds(BLK(200)), "noted now");
}

/* pages that stay (MADV_FREE, a range mapped again): held while a call
 * may be under way, every note let go once none is */
static void no_call_inside(void)
{
	zapwait_clear();
	memset(there, 1, sizeof(there));
	calls_inside = 1;
	t_assert(zapwait_note(PG(7, 0), PG(7, 16)) && zapwait_note(PG(9, 3), PG(9, 4)),
		 "noted");
	asked = 0;
	t_assert(zapwait_holds(BLK(7)), "a call inside: held");
	t_assert(asked == 1, "asked %u times", asked);
	memset(there[9], 0, 512);
	asked = 0;
	t_assert(!zapwait_holds(BLK(9)), "zapped: free");
	t_assert(!asked, "zapped: no need to ask");
	t_assert(zapwait_note(PG(9, 3), PG(9, 4)), "noted again");
	there[9][3] = 1;
	calls_inside = 0;
	t_assert(!zapwait_holds(BLK(7)), "no call inside: free");
	t_assert(zapwait_count() == 0, "every note let go (%u left)",
		 zapwait_count());
	t_assert(!zapwait_holds(BLK(9)), "the other one too");
	calls_inside = 1;
}

int main(void)
{
	zapwait_init(model_pages, model_under_way);
	one_range();
	full_table();
	no_call_inside();
	printf("zapwait: held until each page is seen absent or no call is "
	       "under way, a full table noting no more\n");
	return 0;
}
