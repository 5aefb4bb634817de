/* SPDX-License-Identifier: MIT */
/* Taking 2 MB blocks away from the application into the arena. */
#ifndef UZ_AGENT_EVICT_H
#define UZ_AGENT_EVICT_H

#include <stdint.h>

#include "agent.h"
#include "protocol.h"

UZ_HIDDEN int evict_init(void);
/* In a forked child: map and register the staging block anew. */
UZ_HIDDEN int evict_stage_reset(void);

/*
 * Evict the block at @addr.  Returns 1 when stored, 0 when there was
 * nothing to take (empty, or every page busy), or -errno.
 * @bytes and @stored get the application and compressed bytes.
 */
UZ_HIDDEN int evict_block(uint64_t addr, uint64_t *bytes, uint64_t *stored);

/* The block being put back from staging after an eviction failed (the
 * table does not have it, staging does), or 0. */
UZ_HIDDEN uint64_t evict_putting_back(void);

/*
 * Serve UZ_MSG_EVICT: walk the managed memory and evict until @req's
 * target is met, calling @progress now and then; fills @done.
 */
UZ_HIDDEN void evict_run(const struct uz_evict *req, struct uz_evict_done *done,
		  void (*progress)(uint64_t done_bytes, uint64_t target));

/* Unmap the eviction buffers and staging (the agent stepped aside, or
 * a forked child starts afresh: @in_child, the staging is a hole). */
UZ_HIDDEN void evict_free(int in_child);

#endif
