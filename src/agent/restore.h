/* SPDX-License-Identifier: MIT */
/* Serving faults: bringing back a 64 KB frame or the whole 2 MB block. */
#ifndef UZ_AGENT_RESTORE_H
#define UZ_AGENT_RESTORE_H

#include <stdint.h>

#include "agent.h"
#include "blocks.h"

UZ_HIDDEN int restore_init(void);

/* Read and serve every message waiting on the uffd; never blocks.
 * Returns the number of messages handled. */
UZ_HIDDEN int restore_poll(void);

/*
 * The kernel refuses UFFDIO_MOVE/COPY with EAGAIN while an event
 * (remove, unmap, remap) waits on the uffd, and only this thread can
 * read it.  restore_settle() reads every waiting message, acts on the
 * events and keeps the faults for the next restore_poll(); returns 1
 * when it read any.  restore_settle_wait() is one round of waiting out
 * an EAGAIN that started at @t0: settle, or give the thread that caused
 * it a moment to finish; it says so, now and then, if that lasts.
 */
UZ_HIDDEN int restore_settle(void);
UZ_HIDDEN void restore_settle_wait(uint64_t t0, const char *what);

/* Serve the faults restore_settle read and kept. */
UZ_HIDDEN void restore_replay(void);
/* In a forked child: forget the parent's in-flight state. */
UZ_HIDDEN void restore_reset(void);

/* Faults waiting for a retry, or read and kept: poll again soon. */
UZ_HIDDEN int restore_pending(void);

/* Restore all of @b with one UFFDIO_MOVE of a decoded THP. */
UZ_HIDDEN int restore_block_whole(struct block *b);

/* Idle work: refill restore staging, prefetch ahead of a sequential
 * reader.  Returns 1 when it did something (call again). */
UZ_HIDDEN int restore_idle(void);
/* How faults bring memory back from now on: @e's readahead and
 * finish_after (UZ_EVICT_REFILL), clamped to their ranges. */
struct uz_evict;
UZ_HIDDEN void restore_set_refill(const struct uz_evict *e);

/* Finishing or reading ahead the block at @addr at idle is called off
 * (it was taken again: what idle work would bring back was just taken
 * out). */
UZ_HIDDEN void restore_forget_idle(uint64_t addr);
/* Put back every stored frame of @b and forget it (unregister, mremap
 * fallbacks).  Returns 0 or -errno. */
UZ_HIDDEN int restore_all_frames(struct block *b);

/* Write the bytes of frame @f of @b, as the application last had them,
 * into @dst (UZ_FRAME_SIZE).  Returns 0, or -EBADMSG on a bad checksum. */
UZ_HIDDEN int restore_decode(const struct block *b, unsigned f, uint8_t *dst);
/* Frame @f of record @rec into @dst, as stored (no page dropped since),
 * its payload read into @buf (@cap bytes): for a caller that may run in
 * the middle of a restore and so must not use restore's buffer.  0 or
 * -EBADMSG. */
UZ_HIDDEN int restore_decode_into(uint32_t rec, unsigned f, uint8_t *buf,
				  uint32_t cap, uint8_t *dst);
/* Frames [from, to) of @b into @stage (a zeroed block); -EBADMSG when
 * one fails.  Frames from the upper half use the worker's codec. */
UZ_HIDDEN int restore_decode_frames(const struct block *b, unsigned from,
				    unsigned to, uint8_t *stage);

/* Forget frame @f of @b after it was put back or dropped; frees the
 * block when it was the last.  Returns 1 when @b was freed. */
UZ_HIDDEN int restore_frame_done(struct block *b, unsigned f);

/* Unmap the restore buffers and staging (the agent stepped aside, or a
 * forked child starts afresh: @in_child, the staging is a hole). */
UZ_HIDDEN void restore_free(int in_child);

#endif
