/* SPDX-License-Identifier: MIT */
/* Blocks brought back lately: see recent.h. */
#include <string.h>

#include "recent.h"

struct recent_slot {
	uint64_t block;
	uint32_t at_ms;
};

static struct recent_slot table[RECENT_SLOTS];

/* The first slot of @block's bucket of RECENT_WAYS. */
static struct recent_slot *bucket(uint64_t block)
{
	/* 2 MB blocks: the low 21 bits say nothing; Fibonacci hashing */
	uint64_t h = (block >> 21) * 0x9e3779b97f4a7c15ull;

	return &table[(h >> 40) % (RECENT_SLOTS / RECENT_WAYS) * RECENT_WAYS];
}

void recent_note(uint64_t block, uint32_t now)
{
	struct recent_slot *b = bucket(block), *oldest = b;
	unsigned i;

	for (i = 0; i < RECENT_WAYS; i++) {
		if (b[i].block == block || !b[i].block) {
			oldest = &b[i];
			break;
		}
		/* the clock wraps (49 days): compare ages, not stamps */
		if (now - b[i].at_ms > now - oldest->at_ms)
			oldest = &b[i];
	}
	oldest->block = block;
	oldest->at_ms = now;
}

int recent_within(uint64_t block, uint32_t now, uint32_t window_ms)
{
	const struct recent_slot *b = bucket(block);
	unsigned i;

	if (!window_ms)
		return 0; /* no guard at all (near a cgroup's limit) */
	for (i = 0; i < RECENT_WAYS; i++)
		if (b[i].block == block)
			/* noted after @now (a fault served during the walk
			 * that read the clock): as recent as can be */
			return (int32_t)(now - b[i].at_ms) < 0 ||
			       now - b[i].at_ms < window_ms;
	return 0;
}

void recent_clear(void)
{
	memset(table, 0, sizeof(table));
}
