/* SPDX-License-Identifier: MIT */
/* Which pages of a 2 MB block hold data, and whether it is one THP. */
#ifndef UZ_AGENT_UTIL_H
#define UZ_AGENT_UTIL_H

#include <stdint.h>

#include "agent.h"

struct page_presence {
	uint64_t bits[UZ_PAGES_PER_BLOCK / 64]; /* present or swapped */
	unsigned count;
	int huge; /* mapped by one PMD */
};

UZ_HIDDEN int pagemap_open(void);
/* Is it open (a process that is not dumpable may not open it)? */
UZ_HIDDEN int pagemap_available(void);
/* Fill @pp for the block at @start (PAGEMAP_SCAN, else pagemap). */
UZ_HIDDEN int pagemap_block(uint64_t start, struct page_presence *pp);

/* Is every page of the block at @start present and mapped by this
 * process alone (pagemap's "exclusively mapped", bit 56)? */
UZ_HIDDEN int pagemap_block_all_own(uint64_t start);

static inline int page_present(const struct page_presence *pp, unsigned i)
{
	return (pp->bits[i / 64] >> (i % 64)) & 1;
}

/* Is any page of 64 KB frame @f in @pp? */
static inline int frame_has_pages(const struct page_presence *pp, unsigned f)
{
	unsigned first = f * UZ_PAGES_PER_FRAME;

	return (pp->bits[first / 64] >> (first % 64) &
		((1ull << UZ_PAGES_PER_FRAME) - 1)) != 0;
}

#endif
