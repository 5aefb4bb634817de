/* SPDX-License-Identifier: MIT */
/*
 * The worker thread takes the upper half of a block's decode or encode,
 * so both cores work while the application waits.  It does nothing
 * else: a job must never wait behind something slow, such as the first
 * touch of a staging huge page (milliseconds in a VM).
 */
#include <errno.h>
#include <unistd.h>

#include "creds.h"
#include "doorbell.h"
#include "lifeline.h"
#include "worker.h"

#define WORKER_STACK (64u << 10)

/* posted: 0 none, 1 waiting, 2 taken by the worker.  Whoever moves it
 * off 1 runs that half. */
static struct {
	int (*fn)(void *arg, int half);
	void *arg;
	int posted, done, result;
} job;

/* bumped to wake the worker (a futex word: the application's threads
 * wake it too, after a credential change, and hold no descriptor of
 * ours) */
static unsigned wakes;
static int running, quit;
static pthread_t thread;

static int claim_job(int from, int to)
{
	return __atomic_compare_exchange_n(&job.posted, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void *worker_main(void *arg)
{
	creds_thread_start();
	lifeline_thread_start();
	for (;;) {
		unsigned seen = __atomic_load_n(&wakes, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&quit, __ATOMIC_ACQUIRE))
			return arg;
		creds_catch_up();
		doorbell_relay();
		if (!claim_job(1, 2)) {
			word_wait(&wakes, seen);
			continue;
		}
		job.result = job.fn(job.arg, 1);
		__atomic_store_n(&job.posted, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&job.done, 1, __ATOMIC_RELEASE);
	}
	return arg;
}

int worker_start(void)
{
	int err = thread_spawn(worker_main, WORKER_STACK, &thread);

	running = !err;
	return err;
}

void worker_stop(void)
{
	if (!running)
		return;
	__atomic_store_n(&quit, 1, __ATOMIC_RELEASE);
	word_bump(&wakes);
	thread_join(thread);
	running = quit = 0;
}

void worker_wake(void)
{
	word_bump(&wakes);
}

int worker_running(void)
{
	return __atomic_load_n(&running, __ATOMIC_ACQUIRE);
}

void worker_reset(void)
{
	running = 0;
	job.posted = 0;
}

int worker_split(int (*fn)(void *arg, int half), void *arg)
{
	int mine;

	if (!running)
		return fn(arg, 0) ?: fn(arg, 1);
	job.fn = fn;
	job.arg = arg;
	job.done = 0;
	__atomic_store_n(&job.posted, 1, __ATOMIC_RELEASE);
	word_bump(&wakes);
	mine = fn(arg, 0);
	/* not started yet? then it is ours again, never waited for */
	if (claim_job(1, 0))
		return mine ?: fn(arg, 1);
	/* taken: it is working and close behind */
	while (!__atomic_load_n(&job.done, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	return mine ?: job.result;
}
