/* SPDX-License-Identifier: MIT */
/* Children made by a raw clone(): filled whole, then let go. */
#ifndef UZ_AGENT_RAWKID_H
#define UZ_AGENT_RAWKID_H

#include <poll.h>

#include "agent.h"

/* A FORK event nobody's fork() hook expected: @ufd is the child's.
 * Takes what the child misses from the table as it is now (call before
 * the faults read with the event are served), or @from_snapshot from the
 * copy made before a fork() (a child copied during its freeze), and owns
 * @ufd from here. */
UZ_HIDDEN void rawkid_adopt(int ufd, int from_snapshot);
/* A fork()'s child whose own agent did not take over (no link, or it
 * could not start): filled like a raw clone's from the fork's snapshot,
 * after the @n_seen events of it read meanwhile (fork.c's nurse). */
struct uffd_msg;
UZ_HIDDEN void rawkid_adopt_forked(int ufd, const struct uffd_msg *seen,
				   unsigned n_seen);
/* Children still being filled: their uffds for the main loop's poll (at
 * most @max), and whether any is left. */
UZ_HIDDEN int rawkid_pollfds(struct pollfd *p, int max);
UZ_HIDDEN int rawkid_busy(void);
/* Serve every child's faults and events, and fill up to @frames more
 * frames of one; agent thread. */
UZ_HIDDEN void rawkid_step(unsigned frames);
/* Fill every queued child to the end (this process is exiting: nobody
 * would fill them after); agent thread. */
UZ_HIDDEN void rawkid_drain(void);
/* In a forked child: the queue is the parent's, let it be. */
UZ_HIDDEN void rawkid_forget(void);

#endif
