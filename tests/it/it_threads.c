/* SPDX-License-Identifier: MIT */
/* Many threads fault the same and different evicted blocks at once. */
#include <pthread.h>
#include <string.h>

#include "itest.h"

#define LEN (64 * IT_MB)
#define THREADS 8

static uint8_t *mem;
static pthread_barrier_t start;
static long errors;

static uint64_t word_at(size_t off)
{
	return off * 0x9e3779b97f4a7c15ull ^ 0x5555;
}

/* Each thread reads every word of a shared block and writes its own
 * words in its own blocks, then checks both. */
static void *worker(void *arg)
{
	long id = (long)arg;
	uint64_t *w = (uint64_t *)mem;
	size_t n = LEN / 8, i, shared = IT_BLOCK / 8;

	pthread_barrier_wait(&start);
	/* all threads on block 0 at once */
	for (i = 0; i < shared; i++)
		if (w[i] != word_at(i))
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	/* then every thread on its own stripe of the rest, writing */
	for (i = shared + id; i < n; i += THREADS * 512) {
		if (w[i] != word_at(i))
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		w[i] = ~word_at(i);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[THREADS];
	uint64_t *w;
	size_t i, n = LEN / 8, shared = IT_BLOCK / 8;
	int round;

	it_setup(argc, argv);
	mem = it_alloc(LEN, 1);
	w = (uint64_t *)mem;
	for (round = 0; round < 3; round++) {
		for (i = 0; i < n; i++)
			w[i] = word_at(i);
		it_evict_all();
		pthread_barrier_init(&start, NULL, THREADS);
		for (i = 0; i < THREADS; i++)
			pthread_create(&th[i], NULL, worker, (void *)i);
		for (i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		it_assert(!errors, "round %d: %ld words read wrong", round, errors);
		for (i = shared; i < n; i++) {
			int written = ((i - shared) % (THREADS * 512)) < THREADS;
			uint64_t want = written ? ~word_at(i) : word_at(i);

			it_assert(w[i] == want, "round %d: word %zu wrong", round, i);
		}
	}
	printf("faults %lu, 2M %lu, 64K %lu\n", (unsigned long)it_stat("faults"),
	       (unsigned long)it_stat("restores_2m"),
	       (unsigned long)it_stat("restores_64k"));
	return 0;
}
