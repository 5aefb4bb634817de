/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_MADVCALLS_H
#define UZ_AGENT_MADVCALLS_H

#include <stdint.h>

#include "util.h"

/*
 * Might a thread of the program be inside madvise() or
 * process_madvise() now?  Each thread's /proc/self/task/TID/syscall
 * says which system call it sleeps in; one on a CPU, or runnable, reads
 * "running" and counts as inside (it may be zapping).  Unreadable
 * counts as inside too, as does an io_uring worker (its file never shows
 * the madvise it runs), and a look during which the thread count
 * changed.  The agent thread's own is not looked at.
 *
 * A REMOVE event's call is inside until its zap is done: none inside
 * means every REMOVE read so far has been applied (zapwait.h).
 */
UZ_HIDDEN int madvcalls_under_way(void);

#endif
