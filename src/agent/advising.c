/* SPDX-License-Identifier: MIT */
/* The program's zapping madvise() calls under way: see advising.h. */
#include <string.h>

#include "advising.h"

/* free: end == 0.  Taken by setting end first: until start is stored
 * the slot reads as [old start (0), end), which covers more, never less */
static struct {
	uint64_t start, end;
} slots[ADVISING_SLOTS];
/* calls under way that found every slot taken */
static unsigned overflowed;

#define OVERFLOW_SLOT (-1)

int advising_begin(uint64_t start, uint64_t len)
{
	uint64_t end = start + len < start ? UINT64_MAX : start + len;
	int i;

	if (!end)
		end = 1; /* an empty range at 0 still marks its slot taken */
	for (i = 0; i < ADVISING_SLOTS; i++) {
		uint64_t free_end = 0;

		if (__atomic_compare_exchange_n(&slots[i].end, &free_end, end, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&slots[i].start, start, __ATOMIC_SEQ_CST);
			return i;
		}
	}
	__atomic_add_fetch(&overflowed, 1, __ATOMIC_SEQ_CST);
	return OVERFLOW_SLOT;
}

void advising_end(int slot)
{
	if (slot == OVERFLOW_SLOT) {
		__atomic_sub_fetch(&overflowed, 1, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_store_n(&slots[slot].start, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&slots[slot].end, 0, __ATOMIC_SEQ_CST);
}

int advising_over(uint64_t start, uint64_t end)
{
	int i;

	if (__atomic_load_n(&overflowed, __ATOMIC_SEQ_CST))
		return 1;
	for (i = 0; i < ADVISING_SLOTS; i++) {
		uint64_t e = __atomic_load_n(&slots[i].end, __ATOMIC_SEQ_CST);

		if (e > start &&
		    __atomic_load_n(&slots[i].start, __ATOMIC_SEQ_CST) < end)
			return 1;
	}
	return 0;
}

void advising_reset_child(void)
{
	memset(slots, 0, sizeof(slots));
	overflowed = 0;
}
