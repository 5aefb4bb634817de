/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_RECENT_H
#define UZ_AGENT_RECENT_H

#include <stdint.h>

/*
 * The thrash guard of automatic eviction: which blocks faulted lately
 * (the latest fault that brought something back), so that the daemon's
 * sampling does not take them again at once, and the guard at the limit
 * takes them last (limitguard.c).  A fixed table, hashed by block,
 * that forgets the oldest entry of a bucket when it is full: forgetting
 * costs at most one more sample of a warm block, never a byte.  Only the
 * agent thread uses it (faults and evictions both run there).  Pure:
 * the caller passes the clock (tests/unit_recent.c).
 */

#define RECENT_SLOTS 4096 /* blocks remembered: 8 GB of 2 MB blocks */
#define RECENT_WAYS 4	  /* slots a block may use */

/* Block @block (2 MB aligned, not 0) was brought back at @now (ms). */
void recent_note(uint64_t block, uint32_t now);
/* Was @block brought back less than @window_ms before @now? */
int recent_within(uint64_t block, uint32_t now, uint32_t window_ms);
/* Forget everything (the agent stepped aside, or a test). */
void recent_clear(void);

#endif
