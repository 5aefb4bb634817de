/* SPDX-License-Identifier: MIT */
/*
 * An eviction never keeps what an madvise(MADV_DONTNEED) is throwing
 * away.  The kernel tells the agent of the call (a REMOVE event), then
 * wakes the calling thread, which takes the mmap lock again and zaps: a
 * block moved out in between would keep the old bytes and give them
 * back where the program must read zeros.  The agent's time window
 * (a second after the REMOVE) is set to nothing here, so only the guard
 * of the interposed madvise() stands between them (advising.c).  One
 * thread writes a block, drops it and checks it reads zeros, block after
 * block, while another evicts everything again and again.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "itest.h"

#define BLOCKS 4
#define SECONDS 20

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

int main(int argc, char **argv)
{
	unsigned long rounds = 0, evictions = 0, bad = 0;
	pthread_t t;
	double t0;

	setenv("UZSWAP_TEST_REMOVE_WINDOW_MS", "0", 1);
	it_setup(argc, argv);
	mem = it_alloc(BLOCKS * IT_BLOCK, 1);
	it_assert(!pthread_create(&t, NULL, evictor, &evictions), "thread");
	t0 = it_now_s();
	while (it_now_s() - t0 < SECONDS && !bad) {
		unsigned k;

		for (k = 0; k < BLOCKS && !bad; k++) {
			uint8_t *b = mem + k * IT_BLOCK;
			size_t last = 0;
			unsigned n;

			memset(b, (int)(rounds % 255) + 1, IT_BLOCK);
			it_assert(!madvise(b, IT_BLOCK, MADV_DONTNEED),
				  "madvise: %s", strerror(errno));
			n = nonzero_pages(b, &last);
			if (n) {
				printf("round %lu block %u: %u pages read old "
				       "data after MADV_DONTNEED (the last at "
				       "offset %zu)\n", rounds, k, n, last);
				bad++;
			}
		}
		rounds++;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("%lu rounds of %d blocks, %lu evictions beside them\n", rounds,
	       BLOCKS, evictions);
	it_assert(evictions > 10, "only %lu evictions ran", evictions);
	it_assert(!bad, "an eviction kept what MADV_DONTNEED threw away");
	printf("PASS\n");
	return 0;
}
