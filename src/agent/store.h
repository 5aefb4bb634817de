/* SPDX-License-Identifier: MIT */
/* The agent's side of its arena: records, extents and their memory. */
#ifndef UZ_AGENT_STORE_H
#define UZ_AGENT_STORE_H

#include <stdint.h>

#include "agent.h"

/* Map @len bytes (header to payload) of the arena @fd as uz_agent.arena,
 * not inherited by children.  0 or -errno. */
UZ_HIDDEN int store_map(int fd, uint64_t len);
/* Create, size, seal and map the arena for @rec_count blocks. */
UZ_HIDDEN int store_create(uint32_t rec_count, uint64_t data_bytes);

/* Record @idx of the arena mapped at @h. */
static inline struct uz_block_rec *arena_rec(const struct uz_arena_hdr *h,
					     uint32_t idx)
{
	return (struct uz_block_rec *)((uint8_t *)h + h->rec_off) + idx;
}

static inline struct uz_block_rec *store_rec(uint32_t idx)
{
	return arena_rec(uz_agent.arena, idx);
}

/*
 * Copy bytes [@off, @off + @len) of record @r's extent into @buf; 0 or
 * -EBADMSG when they lie outside it.  pread, not a read through our
 * mapping: that would map the pages first, and the first access through
 * a fresh page-table entry costs ~3 us per 4 KB page in this VM, five
 * times the copy (and the bytes can no longer change after their
 * checksum is checked).
 */
UZ_HIDDEN int store_read(const struct uz_block_rec *r, uint64_t off,
			 uint32_t len, void *buf);

/*
 * Copy record @from of another arena (its descriptor @from_fd) into a
 * new record of ours, its payload through @buf (@cap bytes); the index
 * in *@idx.  0, -EBADMSG (it does not hold together) or -ENOSPC.
 */
UZ_HIDDEN int store_copy_in(const struct uz_block_rec *from, int from_fd,
			    void *buf, uint32_t cap, uint32_t *idx);

/*
 * Take a free record and an extent of @bytes, copy @payload in, and
 * return the record index (refs = 1); -ENOSPC, or store_write's error.
 */
UZ_HIDDEN int store_put(const void *payload, uint32_t bytes, uint32_t *idx);

/*
 * store_put in two steps, for a caller that must free memory between
 * them: a record and an extent of @bytes (-ENOSPC when there is none;
 * store_unref gives them back), then its payload written (0, or -errno
 * when the kernel found no memory for it: a process being killed).
 * Writing takes new pages of the job's cgroup, reserving at most a
 * record's.
 */
UZ_HIDDEN int store_reserve(uint32_t bytes, uint32_t *idx);
UZ_HIDDEN int store_write(uint32_t idx, const void *payload, uint32_t bytes);

/* This process no longer needs record @idx; the last holder to let go
 * frees it and punches its memory. */
UZ_HIDDEN void store_unref(uint32_t idx);

/*
 * This process has frame @f of record @idx back, @stored the frames it
 * still needs: when it is the record's only holder, the pages of the
 * extent that only frames it has back lie on go back to the system
 * (punched), so that a block read back 64 KB at a time does not keep
 * its whole compressed copy until its last frame is back.
 */
UZ_HIDDEN void store_release_frame(uint32_t idx, unsigned f, uint32_t stored);

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
