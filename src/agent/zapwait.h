/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_ZAPWAIT_H
#define UZ_AGENT_ZAPWAIT_H

#include <stdint.h>

/*
 * REMOVEs whose zap has not been seen yet.  MADV_DONTNEED tells us of a
 * range (a REMOVE event) before it zaps it; a block moved out before the
 * zap keeps the bytes the program threw away.  A call through the
 * interposer marks its range until it returns (advising.c); one that
 * does not (glibc's free() trimming a thread's heap with its internal
 * __madvise, a raw system call) is noted here, and holds the blocks it
 * covers until every page of its range has been seen absent: zapped, or
 * never there (then nothing can be moved out before the zap either: only
 * a fault, which we serve, brings a page back).  No time limit: a range
 * whose pages stay (a raw MADV_FREE, a call that failed after its event)
 * stays unevicted, which loses nothing.
 *
 * Only the thread that reads the uffd's events uses it.  Pure but for
 * @any_present, which says whether a page of [s, e) is there now
 * (pagemap in the agent, a model in tests/unit_zapwait.c).
 */

#define ZAPWAIT_SLOTS 128

void zapwait_init(int (*any_present)(uint64_t s, uint64_t e));
/* A REMOVE of [s, e) was read and no interposed call covers it. */
void zapwait_note(uint64_t s, uint64_t e);
/* May [s, e) (a block) not be moved out yet?  Ranges seen zapped by the
 * look are forgotten. */
int zapwait_holds(uint64_t s, uint64_t e);
/* Ranges noted and not yet seen zapped */
unsigned zapwait_count(void);
/* Forget everything (a forked child: the calls were its parent's). */
void zapwait_clear(void);

#endif
