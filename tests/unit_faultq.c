/* SPDX-License-Identifier: MIT */
/* The agent's queue of faults to serve later (src/agent/faultq.c): in
 * order, bounded, and safe when serving one fault drains the queue
 * again, as a fault at the cgroup's limit does (its guard walk polls the
 * uffd).  The list it replaced lost threads that way: neither served nor
 * woken, a hang (review probe p_threads16, 20+ s stalls). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "faultq.h"
#include "t.h"

#define CAP 8
#define THREADS 64

static struct faultq_entry slots[CAP];
static struct faultq q;
static int served[THREADS];

static void count(const struct faultq_entry *e, void *arg)
{
	(void)arg;
	served[e->addr]++;
}

static void reset(void)
{
	unsigned i;

	faultq_init(&q, slots, CAP);
	for (i = 0; i < THREADS; i++)
		served[i] = 0;
}

/* Arrival order, a full ring refusing, and the ring's wrap. */
static void order_and_bound(void)
{
	unsigned i, round;

	reset();
	for (round = 0; round < 3; round++) {
		for (i = 0; i < CAP; i++)
			t_check_eq(faultq_push(&q, i, 0, 0), 0);
		t_check_eq(faultq_push(&q, 99, 0, 0), -ENOSPC);
		t_check_eq(faultq_len(&q), CAP);
		faultq_drain(&q, count, NULL);
		t_check_eq(faultq_len(&q), 0);
		/* start the next round half way round the ring */
		faultq_push(&q, 0, 0, 0);
		faultq_push(&q, 0, 0, 0);
		faultq_push(&q, 0, 0, 0);
		faultq_drain(&q, count, NULL);
	}
	for (i = 1; i < CAP; i++)
		t_check_eq(served[i], 3);
	t_check_eq(served[0], 3 + 9);
	faultq_clear(&q);
	t_check_eq(faultq_len(&q), 0);
}

/* A fault pushed while the queue drains (EAGAIN again) waits for the
 * next drain: no loop, and the events that caused it are read first. */
static void requeue(const struct faultq_entry *e, void *arg)
{
	(void)arg;
	served[e->addr]++;
	t_check_eq(faultq_push(&q, e->addr, e->flags, e->t0), 0);
}

static void pushed_while_draining(void)
{
	reset();
	faultq_push(&q, 1, 0, 0);
	faultq_push(&q, 2, 0, 0);
	faultq_drain(&q, requeue, NULL);
	t_check_eq(served[1], 1);
	t_check_eq(served[2], 1);
	t_check_eq(faultq_len(&q), 2);
}

/*
 * The case that hung: threads 1 and 2 wait (their faults came during a
 * walk).  Serving 1 at the limit runs the guard's walk; at each of its
 * blocks the walk polls: threads 3 and 4 fault then (EAGAIN: a walk is
 * under way, so they are queued), and the poll drains the queue again.
 */
static int walking;
static int new_faults_left;

static void serve_at_limit(const struct faultq_entry *e, void *arg);

static void poll_between_blocks(void)
{
	while (new_faults_left > 0) {
		uint64_t thread = (uint64_t)(5 - new_faults_left--);

		/* read from the uffd and served at once: in a walk, queued */
		serve_at_limit(&(struct faultq_entry){ thread, 0, 0, 0 }, NULL);
	}
	faultq_drain(&q, serve_at_limit, NULL);
}

static void serve_at_limit(const struct faultq_entry *e, void *arg)
{
	int blk;

	(void)arg;
	if (walking) {
		t_check_eq(faultq_push(&q, e->addr, 0, 0), 0);
		return;
	}
	walking = 1;
	for (blk = 0; blk < 4; blk++)
		poll_between_blocks();
	walking = 0;
	served[e->addr]++;
}

static void drain_inside_a_walk(void)
{
	int polls, t;

	reset();
	walking = 0;
	faultq_push(&q, 1, 0, 0);
	faultq_push(&q, 2, 0, 0);
	new_faults_left = 2;
	/* the main loop's polls, after the daemon's walk ended */
	for (polls = 0; polls < 10 && faultq_len(&q); polls++)
		faultq_drain(&q, serve_at_limit, NULL);
	for (t = 1; t <= 4; t++)
		t_assert(served[t] == 1, "thread %d served %d times: a thread "
			 "never served is never woken (a hang)", t, served[t]);
	t_check_eq(faultq_len(&q), 0);
}

/*
 * Randomized: serving an entry may push new faults, drain again (to any
 * depth) or fail and push itself back.  Whatever the interleaving,
 * every fault is served exactly once in the end, none twice.
 */
static unsigned seed;
static int depth;
static uint64_t next_id;
#define IDS 4096
static int done[IDS];

static unsigned rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 16) & 0x7fff;
}

static void random_serve(const struct faultq_entry *e, void *arg)
{
	(void)arg;
	if (next_id < IDS && rnd() % 3 == 0)
		if (!faultq_push(&q, next_id, 0, 0))
			next_id++;
	if (depth < 6 && rnd() % 4 == 0) {
		depth++;
		faultq_drain(&q, random_serve, NULL);
		depth--;
	}
	if (rnd() % 5 == 0 && !faultq_push(&q, e->addr, 0, 0))
		return; /* EAGAIN again: served later */
	t_assert(!done[e->addr], "fault %lu served twice (seed %u)",
		 (unsigned long)e->addr, seed);
	done[e->addr] = 1;
}

static void randomized(unsigned s)
{
	static struct faultq_entry big[64];
	uint64_t i;
	int polls;

	seed = s;
	faultq_init(&q, big, 64);
	for (i = 0; i < IDS; i++)
		done[i] = 0;
	next_id = 0;
	for (polls = 0; polls < 100000 && (next_id < IDS || faultq_len(&q));
	     polls++) {
		while (next_id < IDS && rnd() % 2 && !faultq_push(&q, next_id, 0, 0))
			next_id++;
		faultq_drain(&q, random_serve, NULL);
	}
	t_assert(!faultq_len(&q), "seed %u: %u faults still queued", s,
		 faultq_len(&q));
	for (i = 0; i < next_id; i++)
		t_assert(done[i], "seed %u: fault %lu was lost", s, (unsigned long)i);
}

int main(void)
{
	unsigned s;

	order_and_bound();
	pushed_while_draining();
	drain_inside_a_walk();
	for (s = 1; s <= 200; s++)
		randomized(s);
	printf("faultq: order, bound, re-queue, a drain inside a walk and 200 "
	       "random nestings as expected\n");
	return 0;
}
