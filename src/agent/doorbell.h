/* SPDX-License-Identifier: MIT */
/* How the application's threads wake the agent thread without a
 * descriptor of their own. */
#ifndef UZ_AGENT_DOORBELL_H
#define UZ_AGENT_DOORBELL_H

#include "agent.h"

/* Agent thread, as it starts: take rings (a signalfd of our own).
 * 0 or -errno. */
UZ_HIDDEN int doorbell_listen(void);
/* Its descriptor, for the agent thread's poll (-1: none). */
UZ_HIDDEN int doorbell_fd(void);
/* The relay's (an eventfd the worker writes for a ring that could not
 * be sent), for the same poll (-1: none). */
UZ_HIDDEN int doorbell_relay_fd(void);
/* Does a ring reach the agent thread (the signal, or the relay when the
 * signal cannot be sent)?  If not, it must not sleep long. */
UZ_HIDDEN int doorbell_reliable(void);
/* Worker thread, whenever it wakes: pass on a ring that waits. */
UZ_HIDDEN void doorbell_relay(void);
/* Wake the agent thread (never waits; async-signal-safe). */
UZ_HIDDEN void doorbell_ring(void);
/* Agent thread: how long its poll may wait, @timeout_ms or less (a ring
 * was lost lately, see doorbell.c). */
UZ_HIDDEN int doorbell_timeout(int timeout_ms);
/* Agent thread: take in every wake-up waiting; non-zero if there was one. */
UZ_HIDDEN int doorbell_drain(void);
/* In a forked child: the parent's descriptor is not in our table. */
UZ_HIDDEN void doorbell_forget(void);

#endif
