/* SPDX-License-Identifier: MIT */
/* The agent's own address range, reserved when the agent starts. */
#ifndef UZ_AGENT_RESERVE_H
#define UZ_AGENT_RESERVE_H

#include <stddef.h>

#include "agent.h"

/* Reserve the range (PROT_NONE) and keep it out of evictions; once,
 * when the agent first starts, before it maps anything.  Without it (an
 * address-space limit), agent memory is mapped wherever the kernel puts
 * it, as before. */
UZ_HIDDEN void reserve_init(void);
/* Map @len bytes (a multiple of the page size), aligned to @align (a
 * power of two, at most 2 MB), read-write anonymous, inside the range:
 * NULL when it has no such room (the caller maps elsewhere). */
UZ_HIDDEN void *reserve_map(size_t len, size_t align);
/* Is there a range (reserve_init succeeded)? */
UZ_HIDDEN int reserve_active(void);
/* Is [p, p + len) inside the range? */
UZ_HIDDEN int reserve_holds(const void *p, size_t len);
/* Give back what reserve_map gave: reserved again, free for the next. */
UZ_HIDDEN void reserve_unmap(void *p, size_t len);
/* [p, p + len), handed out by reserve_map, was made MADV_DONTFORK: a
 * hole in a forked child (nothing if it is not in the range). */
UZ_HIDDEN void reserve_dontfork(void *p, size_t len);
/* After the program's mlockall(MCL_CURRENT): all of the range unlocked
 * again, so that it counts neither in VmLck nor against RLIMIT_MEMLOCK. */
UZ_HIDDEN void reserve_unlock(void);
/* In a forked child, first thing (before anything maps: the arena, a
 * handler's mmap would go into them): the holes the parent's
 * MADV_DONTFORK memory left reserved again, and free; the lock, which a
 * thread of the parent's may have held, let go. */
UZ_HIDDEN void reserve_forked_child(void);

#endif
