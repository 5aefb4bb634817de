/* SPDX-License-Identifier: MIT */
/* Which of the process's memory the agent manages, and how it is used. */
#ifndef UZ_AGENT_REGIONS_H
#define UZ_AGENT_REGIONS_H

#include <stdint.h>

#include "agent.h"

/* Never evict [start, start+len): the agent's own memory.  0 or
 * -ENOSPC (the table is full); unexclude when it is unmapped. */
UZ_HIDDEN int regions_exclude(uint64_t start, uint64_t len);
UZ_HIDDEN void regions_unexclude(uint64_t start, uint64_t len);
/* Interposers report ranges that went away (munmap, MAP_FIXED, mremap). */
UZ_HIDDEN void regions_note_unmap(uint64_t start, uint64_t len);
/* Explicit API: @hint is enum uzswap_hint; register adds a range. */
UZ_HIDDEN int regions_register(uint64_t start, uint64_t len);
UZ_HIDDEN int regions_unregister(uint64_t start, uint64_t len);
UZ_HIDDEN int regions_hint(uint64_t start, uint64_t len, int hint);
/* How warm @addr is: UZSWAP_HINT_HOT, _COLD or _NORMAL (none). */
UZ_HIDDEN int regions_hint_at(uint64_t addr);
/* How @addr is read: UZSWAP_HINT_SEQUENTIAL, _RANDOM or _NORMAL (none). */
UZ_HIDDEN int regions_shape_at(uint64_t addr);
/* Forget how [start, start + len) is read (MADV_NORMAL). */
UZ_HIDDEN void regions_shape_clear(uint64_t start, uint64_t len);
/* The program's madvise() advice as a hint: COLD (never over a HOT
 * range), SEQUENTIAL or RANDOM; it may fill three quarters of a table
 * at most.  0 or -ENOSPC. */
UZ_HIDDEN int regions_advise(uint64_t start, uint64_t len, int hint);

/*
 * Rescan /proc/self/maps and call @fn for every whole 2 MB block of
 * anonymous private writable memory that may be evicted, COLD-hinted
 * blocks first, HOT ones never.  Returns the managed bytes (whole
 * blocks) or -errno.  @fn returns non-zero to stop the walk.
 */
/* In a forked child, first thing: another thread of the parent may have
 * held the tables' lock when the fork copied it (the child would spin
 * for ever on it). */
UZ_HIDDEN void regions_reset_child(void);
UZ_HIDDEN int64_t regions_scan(int (*fn)(uint64_t block, void *arg), void *arg);
/* The program changed flags of its memory (madvise, mlockall): the
 * next eviction scan reads smaps again (regions.c). */
UZ_HIDDEN void regions_flags_changed(void);
/* The VMAs whose smaps VmFlags carry the two letters @flag ("wf") and
 * that @keep (unless NULL) says yes to: the first @max into @out as
 * [start, end), in address order.  Returns how many there are (more
 * than @max: not all are in @out), or -errno (-EIO: smaps could not be
 * read whole).  The agent thread's (one buffer). */
UZ_HIDDEN int64_t regions_flagged(const char *flag, int (*keep)(uint64_t s, uint64_t e),
				  uint64_t (*out)[2], uint32_t max);

#endif
