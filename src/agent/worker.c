/* SPDX-License-Identifier: MIT */
/*
 * The worker thread takes the upper half of a block's decode or encode,
 * so both cores work while the application waits.  It does nothing
 * else: a job must never wait behind something slow, such as the first
 * touch of a staging huge page (milliseconds in a VM).
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "creds.h"
#include "fds.h"
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

static int worker_fd = -1;

static int claim_job(int from, int to)
{
	return __atomic_compare_exchange_n(&job.posted, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void *worker_main(void *arg)
{
	uint64_t v;

	creds_thread_start();
	lifeline_thread_start();
	for (;;) {
		if (read(worker_fd, &v, sizeof(v)) < 0 && errno != EINTR &&
		    errno != EAGAIN)
			return arg;
		creds_catch_up();
		if (!claim_job(1, 2))
			continue;
		job.result = job.fn(job.arg, 1);
		__atomic_store_n(&job.posted, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&job.done, 1, __ATOMIC_RELEASE);
	}
}

int worker_start(void)
{
	worker_fd = fd_hide(eventfd(0, EFD_CLOEXEC));
	if (worker_fd < 0)
		return -errno;
	return thread_spawn(worker_main, WORKER_STACK, NULL);
}

void worker_wake(void)
{
	uint64_t one = 1;

	if (worker_fd >= 0 && write(worker_fd, &one, sizeof(one)) < 0)
		return;
}

void worker_reset(void)
{
	if (worker_fd >= 0)
		fd_close(worker_fd);
	worker_fd = -1;
	job.posted = 0;
}

int worker_split(int (*fn)(void *arg, int half), void *arg)
{
	uint64_t one = 1;
	int mine;

	if (worker_fd < 0)
		return fn(arg, 0) ?: fn(arg, 1);
	job.fn = fn;
	job.arg = arg;
	job.done = 0;
	__atomic_store_n(&job.posted, 1, __ATOMIC_RELEASE);
	/* a worker that cannot be woken may still have taken it (woken
	 * by an earlier post); if not, both halves are ours */
	if (write(worker_fd, &one, sizeof(one)) < 0 && claim_job(1, 0))
		return fn(arg, 0) ?: fn(arg, 1);
	mine = fn(arg, 0);
	/* not started yet? then it is ours again, never waited for */
	if (claim_job(1, 0))
		return mine ?: fn(arg, 1);
	/* taken: it is working and close behind */
	while (!__atomic_load_n(&job.done, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	return mine ?: job.result;
}
