/* SPDX-License-Identifier: MIT */
/*
 * Restores that look at the memory cgroup's limit first.  What comes
 * back is charged to the application's cgroup; with no swap the kernel
 * meets a restore at the limit with its OOM killer (sort(1) in a 1 GiB
 * cgroup was killed so, in the agent's UFFDIO_COPY).  Near the limit
 * the agent takes cold memory out first, as the kernel's reclaim would,
 * right here: the daemon's steps run on this same thread, so a fault
 * cannot wait for one.
 */
#ifndef UZ_AGENT_LIMITGUARD_H
#define UZ_AGENT_LIMITGUARD_H

#include <stdint.h>

#include "agent.h"

/* Before bringing back up to @need bytes for a fault in block @spare
 * read @waited_ns ago: when the cgroup would come within
 * UZ_GUARD_MARGIN of its limit, evict cold blocks (never @spare; those
 * brought back lately last) until it would not, 16 MB at most for one
 * fault, and return 0 (room made or not: better tried than never
 * served).  Only on the agent thread.  Inside a walk, which cannot
 * nest (the fault was read between its blocks), -EINPROGRESS while the
 * cgroup is over the line: the fault waits for the walk to free more,
 * or to end, a second at most.  Served with no room made, a decode
 * there met the OOM killer. */
UZ_HIDDEN int limitguard_make_room(uint64_t need, uint64_t spare,
				   uint64_t waited_ns);
/* Would @need more bytes take the cgroup within the margin of its
 * limit?  (Read-ahead and finishing are skipped then.) */
UZ_HIDDEN int limitguard_near(uint64_t need);
/* Make the eviction buffers resident (evict_buffers_ready) unless that
 * would take the cgroup to its limit.  Only on the agent thread. */
UZ_HIDDEN void limitguard_ready_buffers(void);
/* The daemon says our memory cgroup has a limit (UZ_MSG_LIMITED): the
 * levels looked at again at once, then as limitguard_ready_buffers, and
 * the staging filler told whether the limit is near. */
UZ_HIDDEN void limitguard_limited(void);
/* The thrash guard's window the daemon last sent (ms). */
UZ_HIDDEN void limitguard_set_window(uint32_t guard_ms);
/* Forget the cgroup's files, not closed: they were in another agent
 * thread's table (a forked child, the agent starting afresh); and room
 * being made there, which is not being made here. */
UZ_HIDDEN void limitguard_forget(void);

#endif
