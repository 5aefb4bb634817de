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

/* Which file: maps; smaps, for the scan; smaps again, for a look at
 * the VMAs' flags that may come inside a scan (a fork served in an
 * eviction walk): on the scan's descriptor it would move the kernel's
 * read position, and the scan's next read would start over at its
 * byte offset in text that has changed since, maybe mid-line. */
enum procmaps_file { PROCMAPS_MAPS, PROCMAPS_SMAPS, PROCMAPS_SMAPS_FLAGS, PROCMAPS_N };

/* Open them all (the agent thread, as it starts); failures are left to
 * procmaps_fd() to try again. */
UZ_HIDDEN void procmaps_open(void);
/* The kept descriptor of @which: checked to be still ours (a new table
 * may give its number to something else), opened again if not.
 * -errno when it cannot be. */
UZ_HIDDEN int procmaps_fd(enum procmaps_file which);
/* The kept one read as gone (its thread ended): close it and open it
 * again from this thread. */
UZ_HIDDEN int procmaps_reopen(enum procmaps_file which);
/* In a forked child: the numbers are the parent agent's. */
UZ_HIDDEN void procmaps_forget(void);

#endif
