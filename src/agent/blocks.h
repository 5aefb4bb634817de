/* SPDX-License-Identifier: MIT */
/* This process's evicted blocks: a table keyed by block address. */
#ifndef UZ_AGENT_BLOCKS_H
#define UZ_AGENT_BLOCKS_H

#include <stdint.h>

#include "agent.h"

#define UZ_BLK_WAS_THP 0x1
#define UZ_BLK_REFAULTED 0x2 /* touched since it was taken: its age counted */
#define UZ_BLK_SAMPLED 0x4   /* taken by an automatic step (UZ_EVICT_COLD) */
#define UZ_BLK_PAGES_BACK 0x8 /* a page came back alone (its frame stays
			       * stored, the page marked in zeroed) */

/*
 * What this process still expects from a stored record.  The record is
 * shared (after fork) and immutable; what this process has restored or
 * dropped since is tracked here.
 */
struct block {
	uint64_t addr; /* 2 MB aligned; 0 = empty slot */
	uint32_t rec;
	uint32_t stored;     /* frames still to restore (bit per frame) */
	uint64_t zeroed[8];  /* pages whose stored copy is not wanted: dropped
			      * since eviction (they read as zero), or back
			      * alone (mapped: a restore steps over them) */
	uint32_t flags;
	uint8_t last_frame; /* the last 64 KB refill, for locality */
	uint8_t seq_refills; /* refills in a row, each after the last */
	uint16_t pad;
	uint32_t evicted_ms; /* when it was taken (now_ms(): wraps in 49 days) */
};

UZ_HIDDEN int blocks_init(uint32_t capacity);
UZ_HIDDEN struct block *blocks_find(uint64_t addr);
/* Insert a block for @addr; NULL when the table is full. */
UZ_HIDDEN struct block *blocks_insert(uint64_t addr);
/* Forget @b: drop its record reference.  @b is invalid afterwards. */
UZ_HIDDEN void blocks_remove(struct block *b);
/* Re-key @b to @new_addr (mremap).  Returns the block at its new slot. */
UZ_HIDDEN struct block *blocks_rekey(struct block *b, uint64_t new_addr);
/* Call @fn on every block (the table must not change meanwhile). */
UZ_HIDDEN void blocks_for_each(void (*fn)(struct block *, void *), void *arg);
UZ_HIDDEN uint32_t blocks_count(void);
/* May anything of [start, start + len) be evicted?  0 means no; 1 may
 * be wrong (a hint for application threads, no lock). */
UZ_HIDDEN int blocks_may_hold(uint64_t start, uint64_t len);
/* Unmap the table (the agent stepped aside; nothing is stored). */
UZ_HIDDEN void blocks_free(void);
/* Keep a copy of the table as it is now (before a fork), calling @fn on
 * each block copied (one walk of the table, not two), and make the table
 * that copy again (in the forked child); 0 or -ENOMEM. */
UZ_HIDDEN int blocks_snapshot(void (*fn)(struct block *, void *), void *arg);
UZ_HIDDEN void blocks_from_snapshot(void);
/* Call @fn on every block of the snapshot. */
UZ_HIDDEN void blocks_snapshot_each(void (*fn)(struct block *, void *), void *arg);
/* The block at @addr as the snapshot has it, or NULL. */
UZ_HIDDEN const struct block *blocks_snapshot_find(uint64_t addr);
/* Addresses of the blocks overlapping [start, end), at most @max. */
UZ_HIDDEN uint32_t blocks_collect(uint64_t start, uint64_t end, uint64_t *out,
				  uint32_t max);

static inline int block_page_zeroed(const struct block *b, unsigned page)
{
	return (b->zeroed[page / 64] >> (page % 64)) & 1;
}

/* The zeroed bits of frame @f's pages: those whose stored copy is not
 * wanted (dropped since eviction, or back alone). */
static inline uint16_t block_frame_gone(const struct block *b, unsigned f)
{
	unsigned first = f * UZ_PAGES_PER_FRAME;

	return (uint16_t)((b->zeroed[first / 64] >> (first % 64)) &
			  ((1ull << UZ_PAGES_PER_FRAME) - 1));
}

/* Was any page of frame @f dropped (or back alone) since eviction? */
static inline int block_frame_zeroed(const struct block *b, unsigned f)
{
	return block_frame_gone(b, f) != 0;
}

/* Were all of frame @f's pages dropped (or back alone) since eviction? */
static inline int block_frame_all_zeroed(const struct block *b, unsigned f)
{
	return block_frame_gone(b, f) == (1u << UZ_PAGES_PER_FRAME) - 1;
}

/* Bytes of application memory @b still holds in the pool. */
static inline uint64_t block_stored_bytes(const struct block *b)
{
	return (uint64_t)__builtin_popcount(b->stored) * UZ_FRAME_SIZE;
}

#endif
