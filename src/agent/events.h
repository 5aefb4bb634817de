/* SPDX-License-Identifier: MIT */
/* Non-cooperative userfaultfd events: remove, unmap, remap. */
#ifndef UZ_AGENT_EVENTS_H
#define UZ_AGENT_EVENTS_H

#include <linux/userfaultfd.h>

#include "agent.h"

UZ_HIDDEN void events_handle(const struct uffd_msg *m);
/* Map the list of pending copies (when the agent starts: see events.c);
 * 0 or -ENOMEM. */
UZ_HIDDEN int events_init(void);

/*
 * Run the copies an unaligned mremap left: with @blk, those that must
 * go before block @blk's stored pages go back there (the ones whose
 * pages come from @blk, and those copying into it; returns 0, or
 * -EAGAIN when one has to wait); with 0, all (returns how many are
 * still waiting).  Whatever restores a block calls it first, before it
 * looks the block up: a copy done may release it.
 */
UZ_HIDDEN int events_pending_run(uint64_t blk);
/* events_pending_run(@blk) until nothing of it is left waiting, reading
 * events meanwhile (restore_settle_wait, from *@t0, set on the first
 * wait if 0; @what names the wait in its log line). */
UZ_HIDDEN void events_pending_wait(uint64_t blk, uint64_t *t0, const char *what);
/* Is block @blk a source or a destination of a pending copy?  It is
 * not evicted until the copy is done. */
UZ_HIDDEN int events_block_in_task(uint64_t blk);
/* Will a pending copy put stored pages into [s, e)?  That range stays
 * registered until it has: UFFDIO_COPY goes only where we registered. */
UZ_HIDDEN int events_task_dest_in(uint64_t s, uint64_t e);
/* Block @blk holds nothing of ours now: unregister it, unless a pending
 * copy still goes there (a second mremap can put it at a released
 * block's old place; review probe p_chain back2mb lost 392 pages). */
UZ_HIDDEN void events_unregister_block(uint64_t blk);
/*
 * [s, s+len) was just brought back for the application's own call on
 * it (an mremap, a madvise): unregister what is left registered there
 * with nothing of ours in it (the tail a raw growing mremap left, a
 * task's range), all at once.  An uffd-armed VMA in the range makes a
 * move across several VMAs (MREMAP_FIXED, Linux 6.17+) fail part way,
 * leaving the range torn (the stress test's rawmove, seed 206).
 */
UZ_HIDDEN void events_unregister_restored(uint64_t s, uint64_t len);
/* Do stored pages of an mremap wait to be copied? */
UZ_HIDDEN int events_tasks_waiting(void);
/* Call @fn on each pending copy: stored pages [from, to) now belong
 * @delta away (a raw clone's child was copied with them there). */
UZ_HIDDEN void events_tasks_each(void (*fn)(uint64_t from, uint64_t to,
					    int64_t delta, void *arg), void *arg);

/*
 * An eviction about to put block @blk back into the application (it
 * could not be stored) reads events while it waits: pages the
 * application drops meanwhile must not come back, and pages it moves
 * go back where they are now.  events_watch(blk) starts recording them
 * (0 stops), events_watch_dropped() and events_watch_moved() tell.
 */
UZ_HIDDEN void events_watch(uint64_t blk);
/* Is an interposed madvise() that zaps under way over block @blk, or was
 * a REMOVE (MADV_DONTNEED) read for it within the last second?  Its zap
 * may not have happened yet: do not evict it now. */
UZ_HIDDEN int events_recently_removed(uint64_t blk);
/* The second above, for a test (UZSWAP_TEST_REMOVE_WINDOW_MS): 0 leaves
 * only the interposer's guard. */
UZ_HIDDEN void events_set_remove_window(uint64_t ns);
UZ_HIDDEN int events_watch_dropped(unsigned page);
/* How far page @addr of the watched block moved with the mremaps read
 * meanwhile, all of them (0: it did not): its copy goes back there. */
UZ_HIDDEN int64_t events_watch_moved(uint64_t addr);
UZ_HIDDEN int events_watch_moved_any(void);

#endif
