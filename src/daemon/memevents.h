/* SPDX-License-Identifier: MIT */
/*
 * What wakes the automatic loop before its timer: a PSI trigger on the
 * machine's memory pressure and on each cgroup v2's with clients (its
 * memory.pressure), cgroup v1 usage thresholds (an eventfd per limited
 * memory cgroup, auto_limit_room() below its limit), cgroup v2 limit
 * events (memory.events.local counting "high" or "max": v2 has no
 * usage threshold, and the brake's memory.high stands where a limit
 * step begins, brake.h) and cgroup v1
 * pressure levels (an eventfd per memory cgroup with clients, "medium":
 * v1 has no PSI per cgroup).  They
 * sit in an epoll set of their own, whose descriptor the daemon's loop
 * watches.  Without them (no PSI, no cgroup v1, too many cgroups) the
 * loop's polling still does the work, later.
 */
#ifndef UZD_MEMEVENTS_H
#define UZD_MEMEVENTS_H

#include <stdint.h>

struct memcg_use;

/* The descriptor of the thresholds' set, to watch for EPOLLIN, or
 * -errno.  The pressure trigger goes in @daemon_epfd itself, with
 * @pressure_tag as its data: a trigger's event is cleared by any poll,
 * the daemon's poll of a nested set too. */
int memevents_init(int daemon_epfd, void *pressure_tag);
/* The thresholds' set is readable: read what fired, act on it. */
void memevents_dispatch(void);
/* The pressure trigger fired (@pressure_tag came out of epoll). */
void memevents_pressure_event(void);
/* Arm the pressure trigger at @pct % of stalled time in a second (the
 * lowest auto-pressure in force), or disarm it with 0. */
void memevents_pressure_arm(unsigned pct);
/* The % the pressure trigger is armed at if it fired in the @within_ms
 * before @now (pressure was at least that), else 0. */
unsigned memevents_pressure_recent(uint64_t now, uint64_t within_ms);
/* Watch @cg (with a limit) for its usage crossing its limit less
 * auto_limit_room() (autopolicy.h; cgroup v1), or for it meeting its
 * memory.high or memory.max (cgroup v2), until @now + @keep_ms unless
 * renewed; with no limit, let go of its watch. */
void memevents_limit_watch(const struct memcg_use *cg, uint64_t now,
			   uint64_t keep_ms);
/* Listen on @cg's (cgroup v1) memory.pressure_level for "medium" or
 * worse, until @now + @keep_ms unless renewed. */
void memevents_level_watch(const struct memcg_use *cg, uint64_t now,
			   uint64_t keep_ms);
/* Did the pressure level of v1 cgroup @cg_id (inode @ino) reach medium
 * in the @within_ms before @now? */
int memevents_level_recent(uint64_t cg_id, uint64_t ino, uint64_t now,
			   uint64_t within_ms);
/* Arm a trigger on cgroup v2 PSI file @file ("memory.pressure") at @pct
 * % (its clients' auto-pressure), until @now + @keep_ms unless renewed;
 * it sits in the daemon's own set (see memevents_cg_pressure_event). */
void memevents_cg_pressure_watch(const char *file, unsigned pct, uint64_t now,
				 uint64_t keep_ms);
/* The % @file's trigger is armed at if it fired in the @within_ms
 * before @now, else 0. */
unsigned memevents_cg_pressure_recent(const char *file, uint64_t now,
				      uint64_t within_ms);
/* @tag came out of the daemon's epoll with @events: 1 when it was one of
 * the cgroup triggers (and was acted on), 0 when not ours. */
int memevents_cg_pressure_event(void *tag, uint32_t events);
/* Let go of the watches and cgroup triggers not renewed in time (@all:
 * of every one); when the next of those left expires, or UINT64_MAX. */
uint64_t memevents_limit_expire(uint64_t now, int all);
/* Watches set up now (for tests and the log). */
unsigned memevents_limit_watches(void);

#endif
