/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_PROCMAPS_H
#define UZ_AGENT_PROCMAPS_H

#include "util.h"

/*
 * The agent thread's /proc/thread-self/maps and smaps, which the scan
 * reads (regions.c), opened when the agent thread starts and kept open:
 * an open() at a memory cgroup's limit charges a struct file, and the
 * step that was to free memory there was OOM-killed for it (it_atlimit);
 * a program may lower RLIMIT_NOFILE below the next free number of the
 * agent's table (it_rlimits).  The agent thread's own: a main thread that
 * ended leaves /proc/self's empty.
 */

/* Open both (the agent thread, as it starts); failures are left to
 * procmaps_fd() to try again. */
UZ_HIDDEN void procmaps_open(void);
/* The kept descriptor of smaps (@smaps) or maps: checked to be still
 * ours (a new table may give its number to something else), opened
 * again if not.  -errno when it cannot be. */
UZ_HIDDEN int procmaps_fd(int smaps);
/* The kept one read as gone (its thread ended): close it and open it
 * again from this thread. */
UZ_HIDDEN int procmaps_reopen(int smaps);
/* In a forked child: the numbers are the parent agent's. */
UZ_HIDDEN void procmaps_forget(void);

#endif
