/* SPDX-License-Identifier: MIT */
/* Taking 2 MB blocks away from the application into the arena. */
#ifndef UZ_AGENT_EVICT_H
#define UZ_AGENT_EVICT_H

#include <stdint.h>

#include "agent.h"
#include "protocol.h"

UZ_HIDDEN int evict_init(void);
/* Map a fresh 2 MB block at @p, ours, over what was there (a THP moves
 * only onto an empty PMD).  0 or -errno. */
UZ_HIDDEN int stage_block_remap(uint8_t *p);
/* Make the block at @p, ours, an empty destination for UFFDIO_MOVE on
 * the staging uffd (eviction staging, an inactive slot).  0 or -errno. */
UZ_HIDDEN int stage_block_ready(uint8_t *p);
/* In a forked child: map and register the staging block anew. */
UZ_HIDDEN int evict_stage_reset(void);

/*
 * After a fork the kernel holds this process's pages as not exclusive
 * until each is written, even once the child has run exec or exited:
 * UFFDIO_MOVE refuses them (EBUSY), and read-mostly memory of a program
 * that ever started another (a shell, python's subprocess) could never
 * be taken.  When every page of the block at @addr is present and
 * mapped by this process alone (pagemap), MADV_POPULATE_WRITE takes
 * write faults without changing a byte, and the kernel reuses a page
 * that nothing else holds: exclusive again; 1 if done.  Mapped alone is
 * not held by nothing: a page also in a pipe (vmsplice) or a zero-copy
 * send is copied instead (review probe p_vmsplice).  So a THP (@huge)
 * gets one write fault, and is given up on when its mapping was split
 * by it (one 4 KB page copied, the THP no longer whole); a 4 KB block
 * gets them all (a page so held is copied).  Not when a page is mapped
 * by a live child too (copied: its memory doubled) or absent (filled).
 * The block must not be registered with the userfaultfd: a hole made
 * meanwhile (the kernel's THP shrinker drops zero pages) would fault to
 * the thread calling this, the agent's own.
 */
UZ_HIDDEN int evict_regain_own(uint64_t addr, int huge);
/*
 * Evict the block at @addr.  Returns 1 when stored, 0 when there was
 * nothing to take (empty, or every page busy), or -errno.
 * @bytes and @stored get the application and compressed bytes.
 */
UZ_HIDDEN int evict_block(uint64_t addr, uint64_t *bytes, uint64_t *stored);

/* Staging ready to take a block (@huge: a THP moves only onto an empty
 * PMD).  0 or -errno. */
UZ_HIDDEN int evict_stage_ready(int huge);
/* Move the block at @addr into staging; pages the kernel refuses stay
 * (counted in *@busy).  0 or -errno. */
UZ_HIDDEN int evict_move_out(uint64_t addr, int huge, unsigned *busy);
struct page_presence;
struct uz_frame_desc;
/* The block's only copy is its encoding (@frames, @len bytes in
 * out_buf): decode it into staging and put back the pages @pp says were
 * there. */
UZ_HIDDEN void evict_put_back_encoded(uint64_t addr,
				      const struct page_presence *pp,
				      const struct uz_frame_desc *frames,
				      int64_t len);
/* Write record @idx's payload, the block staged for @addr encoded in
 * out_buf (@len bytes), staging's pages freed first (at a cgroup's
 * limit the write takes new ones).  0, or -errno (said in the log): the
 * caller puts the block back. */
UZ_HIDDEN int evict_write_staged(uint64_t addr, uint32_t idx, int64_t len);
/* Count a frame just encoded, by its kind, in the stats. */
UZ_HIDDEN void evict_count_frame(uint8_t kind);

/* Compress the block at @addr that an inactive @slot holds (its range
 * still registered): 1 stored, 0 nothing in it, or -errno.  The slot is
 * empty afterwards: on failure the block was put back. */
UZ_HIDDEN int evict_from_slot(uint64_t addr, uint8_t *slot, int huge,
			      uint64_t *bytes, uint64_t *stored);

/* Put the block held at @src (staging or a slot) back at @addr, watching
 * the application's events meanwhile; @src is empty afterwards.  0, or
 * -errno when even copying failed (logged). */
UZ_HIDDEN int evict_put_back(uint64_t addr, uint8_t *src);

/* The block being put back (the table does not have it; *@src, staging
 * or a slot, does), or 0. */
UZ_HIDDEN uint64_t evict_putting_back(const uint8_t **src);

/*
 * Serve UZ_MSG_EVICT: walk the managed memory and evict until @req's
 * target is met, calling @progress now and then; fills @done.
 */
UZ_HIDDEN void evict_run(const struct uz_evict *req, struct uz_evict_done *done,
		  void (*progress)(uint64_t done_bytes, uint64_t target));

/*
 * Fault in the buffers a block is encoded into, once: an eviction at the
 * memory cgroup's limit frees the block's pages before it takes new ones
 * (the payload's), so it must need none before that.  Through
 * limitguard_ready_buffers, which first sees that they fit: when the
 * agent first sees a limit above it, and at each eviction until done.
 */
UZ_HIDDEN void evict_buffers_ready(void);
/* Bytes evict_buffers_ready would fault in (0: resident already). */
UZ_HIDDEN uint64_t evict_buffers_missing(void);

/* In a forked child: its buffers are fresh (MADV_WIPEONFORK), not yet
 * resident. */
UZ_HIDDEN void evict_buffers_forked(void);

/* Unmap the eviction buffers and staging (the agent stepped aside, or
 * a forked child starts afresh: @in_child, the staging is a hole). */
UZ_HIDDEN void evict_free(int in_child);

/* Is a walk under way (a fault is being served between its blocks)? */
UZ_HIDDEN int evict_walking(void);
/* In a forked child: the parent's walk, under way as the kernel copied
 * us, is not ours (every walk here said EBUSY for good). */
UZ_HIDDEN void evict_forget_walk(void);
/* A count that moves on when a walk begins and as it takes blocks out. */
UZ_HIDDEN uint64_t evict_walk_progress(void);
/* Take @bytes of cold memory out now, compressed, as an automatic step
 * would (its walk and hand), never the block @spare: a fault at the
 * memory cgroup's limit (limitguard.c).  Blocks that faulted within
 * @guard_ms[0] are left out, then, while that was not enough, within
 * each next of the @n windows.  Nothing (-EBUSY in done->err) inside
 * another walk or while a fork is under way. */
UZ_HIDDEN void evict_make_room(uint64_t bytes, const uint32_t *guard_ms,
			       unsigned n, uint64_t spare,
			       struct uz_evict_done *done);

#endif
