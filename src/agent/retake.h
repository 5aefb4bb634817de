/* SPDX-License-Identifier: MIT */
/*
 * A block partly back (4 KB or 64 KB refills) taken again: what of it is
 * in memory moves out to staging, and a new record is made of the old
 * one's frames that nothing of came back (their payload copied as it
 * is) and of the others encoded again (what is still stored of them
 * decoded, the pages back laid over it).  Before, the stored rest was
 * first brought back, and all 2 MB encoded again: sort at a cgroup's
 * limit spent its agent's time doing that, for a few frames each.
 */
#ifndef UZ_AGENT_RETAKE_H
#define UZ_AGENT_RETAKE_H

#include <stdint.h>

#include "agent.h"
#include "frame.h"

struct block;

/* What a block must have in memory to be taken again: an eighth of it
 * (evict.c counts it by the block's bookkeeping, and pagemap must find
 * it there too) */
#define RETAKE_MIN_PAGES (UZ_PAGES_PER_BLOCK / 8)

/*
 * Take what of @b is in memory, and keep it all stored in one new
 * record.  1 when done, 0 when nothing was taken (nothing there, every
 * page busy, or a stored frame fails its checksum: left for a touch to
 * poison), or -errno (on failure the block is as it was).  @bytes gets
 * the bytes taken out of memory, @stored the payload encoded anew.
 */
UZ_HIDDEN int evict_retake(struct block *b, uint64_t *bytes, uint64_t *stored);

#endif
