/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_COREDUMP_H
#define UZ_AGENT_COREDUMP_H

#include "agent.h"

/* Catch the signals that dump core and are still at their default, so
 * that evicted memory is back before the kernel writes the core. */
UZ_HIDDEN void coredump_init(void);
/* Agent thread: bring everything back if a dying thread asked. */
UZ_HIDDEN void coredump_serve(void);
/* Should an eviction stop (a thread is dying and wants its core)? */
UZ_HIDDEN int coredump_pending(void);

#endif
