/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_ADVISING_H
#define UZ_AGENT_ADVISING_H

#include <stdint.h>

/*
 * The program's madvise() calls that may zap pages (MADV_DONTNEED,
 * MADV_FREE, ...), while they are under way.  The kernel tells us of
 * such a call (a REMOVE event) before it zaps, and nothing tells us when
 * the zap is done: a block moved out in between keeps the bytes the
 * program threw away.  The interposed madvise() marks its range here
 * before the system call and clears it after, so the eviction leaves
 * the blocks it covers alone until the zap is over (events.c).  Calls
 * that do not pass through the interposer (glibc's own, raw system
 * calls) have only the REMOVE guard's time window.
 *
 * Lock-free (application threads, signal handlers and the agent's
 * threads all use it); a fixed table in the library's .bss, which is
 * never evicted.
 */

#define ADVISING_SLOTS 64

/* Before the system call: returns what advising_end() needs. */
int advising_begin(uint64_t start, uint64_t len);
/* After it returned. */
void advising_end(int slot);
/* Is a call under way over [start, end)? (every range, when more calls
 * were under way than the table holds) */
int advising_over(uint64_t start, uint64_t end);
/* In a forked child: the calls under way were other threads' (gone). */
void advising_reset_child(void);

#endif
