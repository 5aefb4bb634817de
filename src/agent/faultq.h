/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_FAULTQ_H
#define UZ_AGENT_FAULTQ_H

#include <stdint.h>

/*
 * Faults the agent read but could not serve yet (restore.c): those the
 * kernel asked to retry (EAGAIN) and those read while the agent waited
 * out an mremap or madvise.  A ring in arrival order.
 *
 * Serving a fault may re-enter the agent's loop: a fault at the limit
 * runs the guard's walk, whose restore_poll reads and serves more
 * faults, and drains the queue again.  faultq_drain is built for that:
 * each entry leaves the queue once, before it is served, so a nested
 * drain never serves it twice nor drops one; what serving pushes waits
 * for the next drain (a retry waits for the events that caused it).
 * Only the agent thread uses a queue.  Pure (tests/unit_faultq.c).
 */

struct faultq_entry {
	uint64_t addr;
	uint64_t flags;
	uint64_t t0;  /* when it was read, for the fault's latency */
	uint64_t seq; /* order of arrival, set by faultq_push */
};

struct faultq {
	struct faultq_entry *slot;
	unsigned cap;
	unsigned head; /* oldest entry */
	unsigned len;
	uint64_t next_seq;
};

/* An empty queue over @slot, @cap entries (caller's memory). */
void faultq_init(struct faultq *q, struct faultq_entry *slot, unsigned cap);
/* Forget every entry (a forked child's, or the agent stepping aside). */
void faultq_clear(struct faultq *q);
unsigned faultq_len(const struct faultq *q);
/* Queue a fault; -ENOSPC when full (the caller wakes its thread). */
int faultq_push(struct faultq *q, uint64_t addr, uint64_t flags, uint64_t t0);
/* Serve, oldest first, each entry that was queued when the call began
 * and is still queued; @serve may push, pop or drain again. */
void faultq_drain(struct faultq *q,
		  void (*serve)(const struct faultq_entry *e, void *arg),
		  void *arg);

#endif
