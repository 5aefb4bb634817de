/* SPDX-License-Identifier: MIT */
/*
 * A robust mutex whose owner thread ends while holding it is released by
 * the kernel (the next locker gets EOWNERDEAD), also when the memory
 * around it was evicted: the kernel reads the thread's robust list at
 * its exit and cannot take a userfault then, so the agent must leave
 * those pages in place.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)

static pthread_mutex_t *mutex;
static pthread_barrier_t locked, evicted;

static void *owner(void *arg)
{
	it_assert(pthread_mutex_lock(mutex) == 0, "owner: lock failed");
	pthread_barrier_wait(&locked);
	pthread_barrier_wait(&evicted);
	/* ends holding it: the kernel marks it owner-died */
	return arg;
}

int main(int argc, char **argv)
{
	pthread_mutexattr_t ma;
	struct timespec until;
	uint8_t *m;
	pthread_t t;
	int r;

	it_setup(argc, argv);
	alarm(60);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 9);
	/* the mutex in the middle of a block of ordinary data */
	mutex = (pthread_mutex_t *)(m + 3 * IT_MB + 4096);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	it_assert(pthread_mutex_init(mutex, &ma) == 0, "mutex init failed");
	pthread_barrier_init(&locked, NULL, 2);
	pthread_barrier_init(&evicted, NULL, 2);
	pthread_create(&t, NULL, owner, NULL);
	pthread_barrier_wait(&locked);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") > 0, "nothing was evicted");
	pthread_barrier_wait(&evicted);
	pthread_join(t, NULL);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	r = pthread_mutex_timedlock(mutex, &until);
	it_assert(r == EOWNERDEAD, "lock after the owner died: %s, not EOWNERDEAD",
		  strerror(r));
	pthread_mutex_consistent(mutex);
	pthread_mutex_unlock(mutex);
	/* the data around it is intact */
	memset(mutex, 0, sizeof(*mutex));
	{
		uint8_t *ref = it_alloc(LEN, 0);

		it_fill(ref, LEN, 9);
		memset(ref + 3 * IT_MB + 4096, 0, sizeof(*mutex));
		it_assert(!memcmp(m, ref, LEN), "data around the mutex reads wrong");
	}
	printf("robust mutex recovered after its owner ended\n");
	return 0;
}
