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
#define SETTLE_MS "600"
/* the reader faults this long into the walk's end */
#define READER_DELAY_MS 200
/* served at once when the loop sees it; an agent at rest wakes only
 * for its next rescan (minutes) */
#define SERVED_WITHIN_S 10

static uint8_t *mem;
static volatile int read_done;
static long bad = -1;

static void *reader(void *arg)
{
	struct timespec d = { 0, READER_DELAY_MS * 1000000L };

	(void)arg;
	nanosleep(&d, NULL);
	bad = it_check(mem, LEN, 5);
	__atomic_store_n(&read_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	double t0;

	if (!getenv("IT_UNDER_AGENT"))
		setenv("UZSWAP_TEST_WALK_SETTLE_MS", SETTLE_MS, 1);
	it_setup(argc, argv);
	alarm(120);
	mem = it_alloc(LEN, 0);
	it_fill(mem, LEN, 5);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") > 0, "nothing was evicted");
	/* the reader faults while this walk (nothing left to take) is in
	 * its pause, and the agent reads that fault at its end */
	it_assert(!pthread_create(&t, NULL, reader, NULL), "pthread_create");
	it_evict_all();
	t0 = it_now_s();
	while (!__atomic_load_n(&read_done, __ATOMIC_SEQ_CST) &&
	       it_now_s() - t0 < SERVED_WITHIN_S)
		usleep(10000);
	it_assert(__atomic_load_n(&read_done, __ATOMIC_SEQ_CST),
		  "a fault read at a walk's end was still not served %d s later",
		  SERVED_WITHIN_S);
	pthread_join(t, NULL);
	it_assert(bad < 0, "wrong byte at offset %ld", bad);
	printf("the reader's faults were served, every byte right\n");
	return 0;
}
