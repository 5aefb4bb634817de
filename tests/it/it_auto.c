/* SPDX-License-Identifier: MIT */
/*
 * uzswapd evicts on its own (auto=on), with no uzswapctl evict:
 *  - memory nobody touches goes (most of 48 MB within 30 s), memory a
 *    thread keeps reading stays: each of its blocks comes back at most
 *    once, then the thrash guard keeps it;
 *  - then it finds nothing more to take, and says so (AUTO nothing);
 *  - when what it takes keeps coming back (a thread reading everything
 *    again and again) it backs off, and says so (uzswapctl stats AUTO);
 *  - uzswapctl top shows it live, with rates per second;
 *  - uzswapctl evict still works beside it;
 *  - every byte reads back right.
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define COLD (48 * IT_MB)
#define HOT (8 * IT_MB)
#define CHURN (16 * IT_MB)
#ifdef __SANITIZE_THREAD__
#define WAIT_S 90
#define MOSTLY 0.3
#else
#define WAIT_S 30
#define MOSTLY 0.2
#endif
#define SEED_COLD 71
#define SEED_HOT 72
#define SEED_CHURN 73

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=200\n"
	"auto-step=10\n"
	"auto-guard=120\n"
	"auto-pressure=100\n" /* the machine's own pressure plays no part */
	"auto-refaults=50\n";

struct reader {
	volatile uint8_t *p;
	size_t len;
	unsigned pause_us;
	int stop; /* __atomic: the reader thread polls it */
};

/* Read a byte of every page, again and again, until told to stop. */
static void *reader(void *arg)
{
	struct reader *r = arg;
	unsigned sum = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		for (size_t i = 0; i < r->len; i += 4096)
			sum += r->p[i];
		usleep(r->pause_us);
	}
	return (void *)(uintptr_t)sum;
}

/* Wait up to 30 s for AUTO to be @want (the last seen in @state). */
static void wait_state(const char *want, char *state, size_t len)
{
	if (!it_wait_auto_state(want, state, len, 30))
		it_fail("after 30 s, AUTO is '%s', not '%s'", state, want);
}

int main(int argc, char **argv)
{
	char state[32] = "";
	struct reader hot = { 0 }, churn = { 0 };
	pthread_t th, tc;
	uint8_t *cold_m, *hot_m, *churn_m;
	double t0, share = 1;
	uint64_t refaults, evicted;
	long bad;

	it_need_auto_loop();
	it_setup_config(argc, argv, config);
	alarm(2 * WAIT_S + 100);

	cold_m = it_alloc(COLD, 1);
	hot_m = it_alloc(HOT, 1);
	it_fill(cold_m, COLD, SEED_COLD);
	it_fill(hot_m, HOT, SEED_HOT);
	hot.p = hot_m;
	hot.len = HOT;
	hot.pause_us = 20000;
	pthread_create(&th, NULL, reader, &hot);

	/* 1: the untouched memory goes, on its own (most of it: some
	 * blocks can stay, 17 % in some runs; under ThreadSanitizer on a
	 * busy machine it is slower, and its own memory is sampled too) */
	for (t0 = it_now_s(); it_now_s() - t0 < WAIT_S; usleep(200000)) {
		share = it_resident_share(cold_m, COLD);
		if (share <= MOSTLY)
			break;
	}
	it_assert(share <= MOSTLY, "after %d s, %.0f%% of the untouched 48 MB is "
		  "still resident", WAIT_S, share * 100);
	printf("untouched memory: %.0f%% resident after %.1f s, with no "
	       "uzswapctl evict\n", share * 100, it_now_s() - t0);
	/* the read memory: each block back once at most, then guarded */
	sleep(2);
	refaults = it_stat("refaults");
#ifndef __SANITIZE_THREAD__
	/* (under ThreadSanitizer its own allocator's memory is sampled and
	 * refaults too) */
	it_assert(refaults <= HOT / IT_BLOCK + 4, "%llu refaults: the 4 blocks a "
		  "thread keeps reading were taken again and again",
		  (unsigned long long)refaults);
#endif
	printf("the 8 MB a thread keeps reading: %llu refaults in all\n",
	       (unsigned long long)refaults);

	/* nothing left to take: the rest is guarded or already taken */
	wait_state("nothing", state, sizeof(state));

	/* 2: memory that keeps coming back makes it back off */
	churn_m = it_alloc(CHURN, 1);
	it_fill(churn_m, CHURN, SEED_CHURN);
	churn.p = churn_m;
	churn.len = CHURN;
	churn.pause_us = 1000;
	pthread_create(&tc, NULL, reader, &churn);
	t0 = it_now_s();
	wait_state("refaults", state, sizeof(state));
	evicted = it_stat("evicted_bytes");
	printf("memory read again and again: backed off after %.1f s (AUTO "
	       "refaults)\n", it_now_s() - t0);
	/* uzswapctl top shows it live: our line, rates on the second screen */
	{
		char out[1 << 14], want[32], *second, *line;

		it_assert(!it_ctl(out, sizeof(out), "top -n 2 -d 0.5"),
			  "uzswapctl top failed");
		second = strstr(strstr(out, "TAKEN/s") + 1, "TAKEN/s");
		snprintf(want, sizeof(want), "\n%8d ", getpid());
		it_assert(second && (line = strstr(second, want)), "uzswapctl "
			  "top: no second screen with pid %d in: %s", getpid(), out);
		{
			char rates[3][16], st[16];

			it_assert(sscanf(line, " %*d %*s %*s %*s %*s %*s %15s %15s %15s %15s",
					 rates[0], rates[1], rates[2], st) == 4 &&
				  strcmp(rates[0], "-") && strcmp(rates[1], "-") &&
				  strcmp(rates[2], "-") && strcmp(st, "off"),
				  "uzswapctl top: no rates or AUTO state: %s", line);
		}
	}
	/* an administrator's eviction is not refused for the loop's */
	for (int i = 0; i < 20; i++)
		it_evict_all();
	__atomic_store_n(&churn.stop, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&hot.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tc, NULL);
	pthread_join(th, NULL);

	/* 3: every byte */
	bad = it_check(cold_m, COLD, SEED_COLD);
	it_assert(bad < 0, "untouched memory wrong at offset %ld", bad);
	bad = it_check(hot_m, HOT, SEED_HOT);
	it_assert(bad < 0, "read memory wrong at offset %ld", bad);
	bad = it_check(churn_m, CHURN, SEED_CHURN);
	it_assert(bad < 0, "re-read memory wrong at offset %ld", bad);
	printf("every byte right (%llu MB evicted at the back-off)\n",
	       (unsigned long long)(evicted >> 20));
	return 0;
}
