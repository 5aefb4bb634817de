/* SPDX-License-Identifier: MIT */
/*
 * What wakes the automatic loop before its timer: a PSI trigger on the
 * machine's memory pressure, and cgroup v1 usage thresholds (an eventfd
 * per limited memory cgroup at AUTO_LIMIT_HIGH % of its limit).  They
 * sit in an epoll set of their own, whose descriptor the daemon's loop
 * watches.  Without them (no PSI, no cgroup v1, too many cgroups) the
 * loop's polling still does the work, later.
 */
#ifndef UZD_MEMEVENTS_H
#define UZD_MEMEVENTS_H

#include <stdint.h>

struct memcg_use;

/* The descriptor to watch for EPOLLIN, or -errno. */
int memevents_init(void);
/* It is readable: read what fired and act on it (autoevict.c). */
void memevents_dispatch(void);
/* Arm the pressure trigger at @pct % of stalled time in a second (the
 * lowest auto-pressure in force), or disarm it with 0. */
void memevents_pressure_arm(unsigned pct);
/* The % the pressure trigger is armed at if it fired in the @within_ms
 * before @now (pressure was at least that), else 0. */
unsigned memevents_pressure_recent(uint64_t now, uint64_t within_ms);
/* Watch @cg (cgroup v1, with a limit) for crossing AUTO_LIMIT_HIGH % of
 * its limit; a watch not renewed within @keep_ms is let go of. */
void memevents_limit_watch(const struct memcg_use *cg, uint64_t now,
			   uint64_t keep_ms);
/* Watches set up now (for tests and the log). */
unsigned memevents_limit_watches(void);

#endif
