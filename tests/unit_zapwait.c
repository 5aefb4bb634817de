/* SPDX-License-Identifier: MIT */
/* REMOVEs whose zap has not been seen (src/agent/zapwait.c), against a
 * model of which pages are there: held while a page of the range is,
 * forgotten once none is, and a full table holding more, never less. */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "zapwait.h"

#define MB2 (2ull << 20)
#define PAGES 4096 /* the model: 8 blocks of 512 pages at BASE */
#define BASE 0x7f0000000000ull
#define BLK(i) (BASE + (uint64_t)(i) * MB2)
#define PG(i) (BASE + (uint64_t)(i) * 4096)

static unsigned char there[PAGES];
static unsigned looks;

static int model_present(uint64_t s, uint64_t e)
{
	uint64_t a;

	looks++;
	for (a = s; a < e; a += 4096)
		if (a >= BASE && a < BASE + PAGES * 4096ull && there[(a - BASE) / 4096])
			return 1;
	return 0;
}

static void one_range(void)
{
	zapwait_clear();
	memset(there, 1, sizeof(there));
	zapwait_note(PG(10), PG(20));
	t_assert(zapwait_holds(BLK(0), BLK(1)), "its block, pages still there");
	t_assert(!zapwait_holds(BLK(1), BLK(2)), "the next block");
	memset(there + 10, 0, 9); /* all but page 19 zapped */
	t_assert(zapwait_holds(BLK(0), BLK(1)), "one page of it still there");
	there[19] = 0;
	t_assert(!zapwait_holds(BLK(0), BLK(1)), "all of it zapped");
	t_assert(zapwait_count() == 0, "forgotten once seen zapped");
	looks = 0;
	t_assert(!zapwait_holds(BLK(0), BLK(1)), "nothing noted");
	t_assert(!looks, "nothing noted: no look at the pages");
	zapwait_note(PG(5), PG(5)); /* empty */
	t_assert(zapwait_count() == 0, "an empty range is not noted");
}

static void full_table(void)
{
	unsigned i;

	zapwait_clear();
	memset(there, 1, sizeof(there));
	/* one page in every 16, each still there */
	for (i = 0; i < ZAPWAIT_SLOTS; i++)
		zapwait_note(PG(i * 16), PG(i * 16 + 1));
	t_assert(zapwait_count() == ZAPWAIT_SLOTS, "table full");
	/* one more: nothing was zapped, so the nearest range grows over it */
	zapwait_note(PG(2049), PG(2050));
	t_assert(zapwait_count() == ZAPWAIT_SLOTS, "still full");
	t_assert(zapwait_holds(PG(2049), PG(2050)), "the new range is held");
	there[2049] = 0;
	t_assert(zapwait_holds(PG(2049), PG(2050)),
		 "held with the range it joined, whose page is still there");
	/* half of them zapped: a new note finds room after a sweep */
	for (i = 0; i < ZAPWAIT_SLOTS; i += 2)
		there[i * 16] = 0;
	zapwait_note(PG(3000), PG(3001));
	t_assert(zapwait_count() <= ZAPWAIT_SLOTS / 2 + 2, "%u left after the "
		 "sweep", zapwait_count());
	t_assert(zapwait_holds(PG(3000), PG(3001)), "the newest is held");
	t_assert(zapwait_holds(PG(16), PG(17)), "one still there is held");
	t_assert(!zapwait_holds(PG(32), PG(33)), "a zapped one is not");
}

int main(void)
{
	zapwait_init(model_present);
	one_range();
	full_table();
	printf("zapwait: held until seen zapped, a full table holding more\n");
	return 0;
}
