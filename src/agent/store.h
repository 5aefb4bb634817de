/* SPDX-License-Identifier: MIT */
/* The agent's side of its arena: records, extents and their memory. */
#ifndef UZ_AGENT_STORE_H
#define UZ_AGENT_STORE_H

#include <stdint.h>

#include "agent.h"

/* Create, size, seal and map the arena for @rec_count blocks. */
UZ_HIDDEN int store_create(uint32_t rec_count, uint64_t data_bytes);

static inline struct uz_block_rec *store_rec(uint32_t idx)
{
	return (struct uz_block_rec *)((uint8_t *)uz_agent.arena +
				       uz_agent.arena->rec_off) + idx;
}

static inline const uint8_t *store_payload(const struct uz_block_rec *r,
					   const struct uz_frame_desc *d)
{
	return (const uint8_t *)uz_agent.arena + r->extent_off + d->off;
}

/*
 * Take a free record and an extent of @bytes, copy @payload in, and
 * return the record index (refs = 1) or -ENOSPC.
 */
UZ_HIDDEN int store_put(const void *payload, uint32_t bytes, uint32_t *idx);

/* This process no longer needs record @idx; the last holder to let go
 * frees it and punches its memory. */
UZ_HIDDEN void store_unref(uint32_t idx);

/* Holder slots (fork): take a free slot for @pid, mark record @idx as
 * needed by @slot, and let go of everything @slot holds (a child that
 * exited or exec'd) freeing the slot. */
UZ_HIDDEN int store_slot_alloc(pid_t pid);
UZ_HIDDEN void store_hold(uint32_t idx, unsigned slot);
UZ_HIDDEN void store_slot_release(unsigned slot);
/* Act as holder @slot: its bit, its counters. */
UZ_HIDDEN void store_use_slot(unsigned slot);

UZ_HIDDEN void store_lock(void);
UZ_HIDDEN void store_unlock(void);

#endif
