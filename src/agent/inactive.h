/* SPDX-License-Identifier: MIT */
/*
 * The inactive list: blocks an automatic step moved out of the
 * application's mapping uncompressed.  A touch moves the block back in
 * one UFFDIO_MOVE, with no decode; a block left untouched for its
 * minimum age is compressed into the arena like any eviction.
 */
#ifndef UZ_AGENT_INACTIVE_H
#define UZ_AGENT_INACTIVE_H

#include <stdint.h>

#include "agent.h"

/* Blocks kept uncompressed at most (a full list: steps compress). */
#define UZ_INACTIVE_MAX 64

/* Move the block at @addr out into a slot of ours, to be compressed
 * after @min_age_ms.  1 taken, 0 nothing to take, -ENOSPC no free slot,
 * or -errno (nothing lost: the block is put back).  @bytes: the
 * application bytes taken. */
UZ_HIDDEN int inactive_take(uint64_t addr, uint32_t min_age_ms, uint64_t *bytes);
/* Is the block at @blk (2 MB aligned) on the list? */
UZ_HIDDEN int inactive_has(uint64_t blk);
/* Is any block of [start, start + len) perhaps on the list?  Lock-free
 * hint for application threads, like blocks_may_hold(). */
UZ_HIDDEN int inactive_may_hold(uint64_t start, uint64_t len);
/* A fault in @blk: put the block back whole.  1 done, 0 not on the
 * list, -errno. */
UZ_HIDDEN int inactive_fault(uint64_t blk);
/* Put back every block on the list that overlaps [start, end), the copy
 * tasks of its pages an mremap moved first (waiting for them). */
UZ_HIDDEN void inactive_put_back(uint64_t start, uint64_t end);
/* Pages [s, e) of @blk were dropped or unmapped: forget them. */
UZ_HIDDEN void inactive_drop(uint64_t blk, uint64_t s, uint64_t e);
/* Forget the block at @blk, if on the list, leaving its range registered
 * (a block moved there by an mremap takes its place). */
UZ_HIDDEN void inactive_discard(uint64_t blk);
/* An aligned mremap moved the whole block @blk to @to. */
UZ_HIDDEN void inactive_rekey(uint64_t blk, uint64_t to);
/* Copy pages [s, e) of @blk from its slot to @s + @delta through the
 * main uffd (an unaligned mremap moved them).  0 or -errno. */
UZ_HIDDEN int inactive_copy_moved(uint64_t blk, uint64_t s, uint64_t e,
				  int64_t delta);
/* Where the bytes of @addr are now when its block is on the list (for
 * reading, by a process_vm_readv of our own memory), else @addr; the
 * block is marked to be put back on the next turn. */
UZ_HIDDEN uint64_t inactive_read_addr(uint64_t addr);
/* Compress the block at @blk on the list now: 1 stored, 0 nothing, or
 * -errno (put back). */
UZ_HIDDEN int inactive_compress(uint64_t blk, uint64_t *bytes, uint64_t *stored);
/* The loop's turn: put back what is marked, compress what is due.
 * Returns 1 when it did anything. */
UZ_HIDDEN int inactive_tick(void);
/* Call @fn on every block on the list with the slot holding it. */
UZ_HIDDEN void inactive_each(void (*fn)(uint64_t addr, const uint8_t *slot,
					void *arg), void *arg);
UZ_HIDDEN unsigned inactive_count(void);
/* Unmap the slots (everything was put back first, or, @in_child, the
 * slots are holes: MADV_DONTFORK). */
UZ_HIDDEN void inactive_free(int in_child);

#endif
