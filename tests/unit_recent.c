/* SPDX-License-Identifier: MIT */
/* The thrash guard's memory (src/agent/recent.c): which blocks came back
 * lately, across the clock's wrap and with buckets overflowing. */
#include <stdio.h>

#include "recent.h"
#include "t.h"

#define MB2 (2ull << 20)
#define BLK(i) (0x7f0000000000ull + (uint64_t)(i) * MB2)

static void window(void)
{
	recent_clear();
	t_assert(!recent_within(BLK(1), 1000, 60000), "nothing noted yet");
	recent_note(BLK(1), 1000);
	t_assert(recent_within(BLK(1), 1000, 60000), "just now");
	t_assert(recent_within(BLK(1), 60999, 60000), "59.999 s later");
	t_assert(!recent_within(BLK(1), 61000, 60000), "60 s later");
	t_assert(!recent_within(BLK(2), 1000, 60000), "a neighbour");
	t_assert(!recent_within(BLK(1), 1000, 0), "a window of 0");
	t_assert(recent_within(BLK(1), 999, 60000), "noted after the caller's "
		 "clock was read: recent");
	t_assert(!recent_within(BLK(1), 999, 0), "no guard: never recent");
	recent_note(BLK(1), 50000);
	t_assert(recent_within(BLK(1), 100000, 60000), "noted again: its new time");
}

/* The millisecond clock wraps after 49 days: ages still come out right. */
static void wrap(void)
{
	recent_clear();
	recent_note(BLK(3), 0xfffff000u);
	t_assert(recent_within(BLK(3), 0x1000, 60000), "8 s later, across the wrap");
	t_assert(!recent_within(BLK(3), 0x20000, 60000), "131 s later, across the wrap");
}

/* More blocks than slots: the table keeps the newest, never crashes,
 * and what it forgot reads as "not recent" (one more sample, no harm). */
static void overflow(void)
{
	unsigned i, kept = 0, total = 3 * RECENT_SLOTS;

	recent_clear();
	for (i = 0; i < total; i++)
		recent_note(BLK(i), 1000 + i);
	for (i = total - RECENT_SLOTS / 4; i < total; i++)
		kept += (unsigned)recent_within(BLK(i), 1000 + total, 60000);
	/* hashing is not perfect: most of the newest quarter-table stays */
	t_assert(kept > RECENT_SLOTS / 4 * 9 / 10, "only %u of the newest %u kept",
		 kept, RECENT_SLOTS / 4);
	for (i = 0, kept = 0; i < RECENT_SLOTS; i++)
		kept += (unsigned)recent_within(BLK(i), 1000 + total, 60000);
	t_assert(kept < RECENT_SLOTS / 10, "%u of the oldest %u survived %u newer",
		 kept, RECENT_SLOTS, 2 * RECENT_SLOTS);
}

int main(void)
{
	window();
	wrap();
	overflow();
	printf("recent: the window, the clock's wrap and a full table as expected\n");
	return 0;
}
