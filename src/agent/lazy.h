/* SPDX-License-Identifier: MIT */
/* When the agent starts: at once, or from a sleeping thread (lazy.c). */
#ifndef UZ_LAZY_H
#define UZ_LAZY_H

#include <stddef.h>

#include "util.h"

/* The start delay, UZSWAP_START_DELAY_MS (default 1000; 0: at once),
 * read once, in the constructor. */
UZ_HIDDEN void lazy_configure(void);
/* Start the agent now (delay 0) or arm the thread that will. */
UZ_HIDDEN void lazy_arm(void);
/* The program mapped @len bytes of private anonymous memory: enough of
 * it wakes the thread at once (a futex wake, nothing else: safe inside
 * the program's allocator). */
UZ_HIDDEN void lazy_note_map(size_t len);
/* The program asked for us (the uzswap_* API): start now and wait for
 * it, up to a few seconds. */
UZ_HIDDEN void lazy_start_now(void);
/* A one-thread call (aside.c): the sleeping thread ends.  1 when there
 * was one (arm again after the call), 0 when none sleeps. */
UZ_HIDDEN int lazy_stand_down(void);
/* The starter, its start done, ends: joined, its stack given back (the
 * agent thread's rounds; and before a one-thread call counts threads). */
UZ_HIDDEN void lazy_reap(void);
/* Around fork(): no start runs across it, and a child whose parent was
 * waiting to start waits in turn (1: nothing more for the child hook). */
UZ_HIDDEN void lazy_fork_prepare(void);
UZ_HIDDEN void lazy_fork_parent(void);
UZ_HIDDEN int lazy_fork_child(void);

#endif
