/* SPDX-License-Identifier: MIT */
/*
 * An eviction never keeps what an madvise(MADV_DONTNEED) is throwing
 * away.  The kernel tells the agent of the call (a REMOVE event), then
 * wakes the calling thread, which takes the mmap lock again and zaps: a
 * block moved out in between would keep the old bytes and give them
 * back where the program must read zeros.  The agent's time window
 * (a second after the REMOVE) is set to nothing here, so only the guards
 * stand between them: the interposed madvise()'s mark (advising.c), and
 * for a raw system call (as glibc's free() makes), the wait until the
 * range is seen zapped (zapwait.c).  One thread writes a block, drops it
 * and checks it reads zeros, block after block, while another evicts
 * everything again and again.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "itest.h"

#define BLOCKS 4
/* the raw call's race was lost within 1,000 to 10,000 rounds (about 2
 * to 20 s here) before zapwait.c; the interposed one's within 7,000 */
#define SECONDS_INTERPOSED 10
#define SECONDS_RAW 30

static uint8_t *mem;
static volatile int stop;

static void *evictor(void *arg)
{
	unsigned long *rounds = arg;

	while (!stop) {
		it_evict_all();
		(*rounds)++;
	}
	return NULL;
}

/* Pages of @b (one block) that do not read as zero */
static unsigned nonzero_pages(const uint8_t *b, size_t *last)
{
	static const uint8_t zero[4096];
	unsigned n = 0;
	size_t off;

	for (off = 0; off < IT_BLOCK; off += 4096)
		if (memcmp(b + off, zero, 4096)) {
			n++;
			*last = off;
		}
	return n;
}

/* Drop, check, for @seconds; returns the rounds, counts in *bad */
static unsigned long rounds_of(int raw, double seconds, unsigned long *bad)
{
	unsigned long rounds = 0;
	double t0 = it_now_s();

	while (it_now_s() - t0 < seconds && !*bad) {
		unsigned k;

		for (k = 0; k < BLOCKS && !*bad; k++) {
			uint8_t *b = mem + k * IT_BLOCK;
			size_t last = 0;
			unsigned n;
			int r;

			memset(b, (int)(rounds % 255) + 1, IT_BLOCK);
			r = raw ? (int)syscall(SYS_madvise, b, IT_BLOCK, MADV_DONTNEED) :
				  madvise(b, IT_BLOCK, MADV_DONTNEED);
			it_assert(!r, "madvise: %s", strerror(errno));
			n = nonzero_pages(b, &last);
			if (n) {
				printf("%s, round %lu block %u: %u pages read "
				       "old data after MADV_DONTNEED (the last "
				       "at offset %zu)\n", raw ? "raw" : "interposed",
				       rounds, k, n, last);
				(*bad)++;
			}
		}
		rounds++;
	}
	return rounds;
}

int main(int argc, char **argv)
{
	unsigned long evictions = 0, bad = 0, rounds, before;
	pthread_t t;

	setenv("UZSWAP_TEST_REMOVE_WINDOW_MS", "0", 1);
	it_setup(argc, argv);
	mem = it_alloc(BLOCKS * IT_BLOCK, 1);
	it_assert(!pthread_create(&t, NULL, evictor, &evictions), "thread");
	rounds = rounds_of(0, SECONDS_INTERPOSED, &bad);
	printf("interposed madvise(): %lu rounds of %d blocks, %lu evictions "
	       "beside them\n", rounds, BLOCKS, evictions);
	before = evictions;
	if (!bad) {
		rounds = rounds_of(1, SECONDS_RAW, &bad);
		printf("raw madvise system call: %lu rounds of %d blocks, %lu "
		       "evictions beside them\n", rounds, BLOCKS,
		       evictions - before);
	}
	stop = 1;
	pthread_join(t, NULL);
	it_assert(evictions - before > 10, "only %lu evictions ran",
		  evictions - before);
	it_assert(!bad, "an eviction kept what MADV_DONTNEED threw away");
	printf("PASS\n");
	return 0;
}
