/* SPDX-License-Identifier: MIT */
/* Faults waiting to be served, safe to drain from inside a drain
 * (faultq.h). */
#include <errno.h>

#include "faultq.h"

void faultq_init(struct faultq *q, struct faultq_entry *slot, unsigned cap)
{
	q->slot = slot;
	q->cap = cap;
	faultq_clear(q);
}

void faultq_clear(struct faultq *q)
{
	q->head = 0;
	q->len = 0;
}

unsigned faultq_len(const struct faultq *q)
{
	return q->len;
}

int faultq_push(struct faultq *q, uint64_t addr, uint64_t flags, uint64_t t0)
{
	struct faultq_entry *e;

	if (!q->slot || q->len >= q->cap)
		return -ENOSPC;
	e = &q->slot[(q->head + q->len) % q->cap];
	e->addr = addr;
	e->flags = flags;
	e->t0 = t0;
	e->seq = q->next_seq++;
	q->len++;
	return 0;
}

void faultq_drain(struct faultq *q,
		  void (*serve)(const struct faultq_entry *e, void *arg),
		  void *arg)
{
	/* entries pushed from here on (seq >= end) wait for the next call;
	 * sequence numbers do not wrap in practice (2^64 faults) */
	uint64_t end = q->next_seq;

	while (q->len && q->slot[q->head].seq < end) {
		/* a copy, out of the queue before serve() can re-enter */
		struct faultq_entry e = q->slot[q->head];

		q->head = (q->head + 1) % q->cap;
		q->len--;
		serve(&e, arg);
	}
}
