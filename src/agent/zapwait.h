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
 * __madvise, a raw system call) is noted here, block by block, and
 * holds its block until each page of it has been seen absent once (by a
 * look, or by a missing-page fault on it):
 * zapped, or never there (then nothing can be moved out before the zap
 * either: only a fault, which we serve, brings a page back).  Seen absent
 * once is enough: the page that is there later is the program's anew
 * (a review found reused heap pages holding blocks for good, and, when
 * ranges were merged, everything between them).
 *
 * Pages that stay do not hold a block for good: a block whose pages are
 * still there is let go once no thread of the program is inside a
 * madvise call, and then every note is done (each call's zap was done
 * before it returned).  Those are a MADV_FREE's (its pages stay); an
 * interposed call whose mark was gone before its event was handled (the
 * read lets its thread go on); and a range unmapped after its block was
 * unregistered, which sends no UNMAP, then mapped again (it_madvise).
 * When the table is full a block is not noted, and the caller's
 * one-second window is all it has.
 *
 * Only the thread that reads the uffd's events uses it.  Pure but for
 * @present_pages, which fills a block's bitmap of pages there now
 * (pagemap in the agent, a model in tests/unit_zapwait.c), non-zero when
 * it cannot tell, and @madvise_under_way, non-zero when a thread of the
 * program may be inside a madvise call (madvcalls.h).
 */

#define ZAPWAIT_SLOTS 128 /* blocks */

void zapwait_init(int (*present_pages)(uint64_t blk, uint64_t *bits),
		  int (*madvise_under_way)(void));
/* A REMOVE of [s, e) was read and no interposed call covers it: 0 when a
 * block of it found no room. */
int zapwait_note(uint64_t s, uint64_t e);
/* May block @blk not be moved out yet?  A block whose pages have all
 * been seen absent is forgotten; every block, when no call is under
 * way. */
int zapwait_holds(uint64_t blk);
/* A missing-page fault at @addr was read: that page was absent too (the
 * program wrote it again before a look saw it gone). */
void zapwait_faulted(uint64_t addr);
/* [s, e) was unmapped or moved away: no zap will come there. */
void zapwait_forget(uint64_t s, uint64_t e);
/* Blocks noted and not yet seen zapped */
unsigned zapwait_count(void);
/* Forget everything (a forked child: the calls were its parent's). */
void zapwait_clear(void);

#endif
