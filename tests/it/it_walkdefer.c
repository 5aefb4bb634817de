/* SPDX-License-Identifier: MIT */
/*
 * A fault the agent read while it could not serve it is served without
 * another event to wake it.  Waiting out a kernel's EAGAIN (putting a
 * block back, restoring a range, following an mremap), the agent reads
 * every message on its uffd and keeps the faults among them for later;
 * a walk that ended so, with nothing more to come, left a lone reader
 * waiting for good (the cgroup v2 guest's jobmove was killed after
 * 150 s, once in some 70 runs on record).  The agent's test hook
 * UZSWAP_TEST_WALK_SETTLE_MS has each walk end that way, after a pause
 * in which a second thread faults on evicted memory.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_BLOCK)
#define SETTLE_MS 600
/* the reader's first fault is aimed this long before the eviction's end,
 * inside the pause; it counts when it lands between the bounds below */
#define AIM_BEFORE_END_MS 300
#define IN_PAUSE_FROM_MS 550 /* before the end: the pause began */
#define IN_PAUSE_TO_MS 30    /* before the end: uzswapctl's reply and exit */
#define TRIES 5
/* served at once when the loop sees it; an agent at rest wakes only
 * for its next rescan (minutes) */
#define SERVED_WITHIN_S 10

static uint8_t *mem;
static volatile int read_done;
static long bad = -1;
static double reader_delay_s = 0.2, fault_at;

static void *reader(void *arg)
{
	struct timespec d = { 0, (long)(reader_delay_s * 1e9) };

	(void)arg;
	nanosleep(&d, NULL);
	fault_at = it_now_s();
	bad = it_check(mem, LEN, 5);
	__atomic_store_n(&read_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* One try: the reader faults while an eviction (nothing left to take)
 * runs; 1 when its first fault came in the walk's pause, so the agent
 * read it at the walk's end and kept it */
static int try_once(void)
{
	pthread_t t;
	double start, end, t0;

	__atomic_store_n(&read_done, 0, __ATOMIC_SEQ_CST);
	start = it_now_s();
	it_assert(!pthread_create(&t, NULL, reader, NULL), "pthread_create");
	it_evict_all();
	end = it_now_s();
	t0 = it_now_s();
	while (!__atomic_load_n(&read_done, __ATOMIC_SEQ_CST) &&
	       it_now_s() - t0 < SERVED_WITHIN_S)
		usleep(10000);
	it_assert(__atomic_load_n(&read_done, __ATOMIC_SEQ_CST),
		  "a fault read at a walk's end was still not served %d s later",
		  SERVED_WITHIN_S);
	pthread_join(t, NULL);
	it_assert(bad < 0, "wrong byte at offset %ld", bad);
	/* aim the next try's fault better */
	reader_delay_s += (end - AIM_BEFORE_END_MS / 1e3) - fault_at;
	if (reader_delay_s < 0)
		reader_delay_s = 0;
	printf("fault %.0f ms after the eviction began, %.0f ms before it "
	       "ended\n", (fault_at - start) * 1e3, (end - fault_at) * 1e3);
	return end - fault_at < IN_PAUSE_FROM_MS / 1e3 &&
	       end - fault_at > IN_PAUSE_TO_MS / 1e3;
}

int main(int argc, char **argv)
{
	char settle[16];
	int i;

	if (!getenv("IT_UNDER_AGENT")) {
		snprintf(settle, sizeof(settle), "%d", SETTLE_MS);
		setenv("UZSWAP_TEST_WALK_SETTLE_MS", settle, 1);
	}
	it_setup(argc, argv);
	alarm(120);
	mem = it_alloc(LEN, 0);
	it_fill(mem, LEN, 5);
	for (i = 0; i < TRIES; i++) {
		it_evict_all();
		it_assert(it_stat("evicted_bytes") > 0, "nothing was evicted");
		if (try_once())
			break;
	}
	it_assert(i < TRIES, "in %d tries the reader's fault never came in "
		  "the walk's pause: nothing was tested", TRIES);
	printf("a fault read in the walk's pause was served, every byte right\n");
	return 0;
}
