/* SPDX-License-Identifier: MIT */
/* Non-cooperative userfaultfd events: remove, unmap, remap. */
#ifndef UZ_AGENT_EVENTS_H
#define UZ_AGENT_EVENTS_H

#include <linux/userfaultfd.h>

#include "agent.h"

UZ_HIDDEN void events_handle(const struct uffd_msg *m);

/*
 * Run the copies an unaligned mremap left: with @addr, only the one
 * whose new range holds @addr (returns 0 or -EAGAIN); with 0, all
 * (returns how many are still waiting).
 */
UZ_HIDDEN int events_pending_run(uint64_t addr);
/* Call @fn on each pending copy: stored pages [from, to) now belong
 * @delta away (a raw clone's child was copied with them there). */
UZ_HIDDEN void events_tasks_each(void (*fn)(uint64_t from, uint64_t to,
					    int64_t delta, void *arg), void *arg);

/*
 * An eviction about to put block @blk back into the application (it
 * could not be stored) reads events while it waits: pages the
 * application drops meanwhile must not come back.  events_watch(blk)
 * starts recording them (0 stops), events_watch_dropped() tells.
 */
UZ_HIDDEN void events_watch(uint64_t blk);
/* Was a REMOVE (MADV_DONTNEED) read for block @blk within the last
 * second?  Its zap may not have happened yet: do not evict it now. */
UZ_HIDDEN int events_recently_removed(uint64_t blk);
UZ_HIDDEN int events_watch_dropped(unsigned page);
/* How far page @addr of the watched block moved with an mremap (0: it
 * did not): its staged copy goes back there. */
UZ_HIDDEN int64_t events_watch_moved(uint64_t addr);
UZ_HIDDEN int events_watch_moved_any(void);

#endif
