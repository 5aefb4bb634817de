/* SPDX-License-Identifier: MIT */
/* REMOVEs whose zap has not been seen yet: see zapwait.h. */
#include <string.h>

#include "zapwait.h"

static struct range {
	uint64_t s, e;
} waits[ZAPWAIT_SLOTS];
static unsigned n_waits;
static int (*present)(uint64_t s, uint64_t e);

void zapwait_init(int (*any_present)(uint64_t s, uint64_t e))
{
	present = any_present;
}

static void forget(unsigned i)
{
	waits[i] = waits[--n_waits];
}

/* Forget what has been zapped since; returns how many are left. */
static unsigned sweep(void)
{
	unsigned i = 0;

	while (i < n_waits)
		if (!present(waits[i].s, waits[i].e))
			forget(i);
		else
			i++;
	return n_waits;
}

static uint64_t gap(const struct range *r, uint64_t s, uint64_t e)
{
	if (e < r->s)
		return r->s - e;
	return s > r->e ? s - r->e : 0;
}

void zapwait_note(uint64_t s, uint64_t e)
{
	unsigned i, near = 0;

	if (s >= e)
		return;
	if (n_waits == ZAPWAIT_SLOTS && sweep() == ZAPWAIT_SLOTS) {
		/* full of ranges still there: the nearest one grows over
		 * the new one, which holds more, never less */
		for (i = 1; i < n_waits; i++)
			if (gap(&waits[i], s, e) < gap(&waits[near], s, e))
				near = i;
		if (s < waits[near].s)
			waits[near].s = s;
		if (e > waits[near].e)
			waits[near].e = e;
		return;
	}
	waits[n_waits].s = s;
	waits[n_waits].e = e;
	n_waits++;
}

int zapwait_holds(uint64_t s, uint64_t e)
{
	unsigned i = 0;

	while (i < n_waits) {
		if (waits[i].s < e && s < waits[i].e) {
			if (present(waits[i].s, waits[i].e))
				return 1;
			forget(i); /* zapped: the slot now holds another */
			continue;
		}
		i++;
	}
	return 0;
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
