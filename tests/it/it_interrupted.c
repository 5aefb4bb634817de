/* SPDX-License-Identifier: MIT */
/*
 * Interposed calls cut short by the program: found by a review (probes
 * p_cancel and p_longjmp), each left the agent broken for good.
 *  - a thread with a cancellation pending calls madvise(MADV_WIPEONFORK),
 *    mremap() or fork(), none of them cancellation points: inside, the
 *    agent waited in pthread_cond_wait, which is one, and the thread was
 *    ended holding the agent's locks (the next fork() hung);
 *  - a SIGALRM handler siglongjmp()s out of mremap() of evicted memory,
 *    skipping the end of the agent's eviction hold: no eviction ran
 *    again ("Device or resource busy" for ever).
 * A watchdog process ends a hang.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

static uint8_t *m;
static const char *call;
static volatile int returned;
static sigjmp_buf jump;
static volatile int jumps;

static void reap_fork(void)
{
	pid_t c = fork();

	if (c == 0)
		_exit(0);
	it_assert(c > 0, "fork failed");
	waitpid(c, NULL, 0);
}

/* Cancelled before the call; the call is no cancellation point, so it
 * returns and the thread ends at pthread_testcancel. */
static void *victim(void *arg)
{
	(void)arg;
	pthread_cancel(pthread_self());
	if (!strcmp(call, "madvise")) {
		madvise(m, 4096, MADV_WIPEONFORK);
	} else if (!strcmp(call, "mremap")) {
		if (mremap(m + 2 * IT_MB, IT_BLOCK, IT_BLOCK, 0) == MAP_FAILED)
			return NULL;
	} else {
		pid_t c = fork();

		if (c == 0)
			_exit(0);
	}
	returned = 1;
	pthread_testcancel();
	return NULL;
}

static void cancelled(const char *what)
{
	pthread_t t;

	call = what;
	returned = 0;
	it_evict_all(); /* the interposers call the agent from now on */
	pthread_create(&t, NULL, victim, NULL);
	pthread_join(t, NULL);
	it_assert(returned, "a pending cancellation ended the thread inside "
		  "%s(), which is no cancellation point", what);
	reap_fork(); /* hung when the agent's locks went with the thread */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void on_alarm(int s)
{
	(void)s;
	jumps++;
	siglongjmp(jump, 1);
}

static void jumped_out(void)
{
	struct itimerval every = { { 0, 300 }, { 0, 300 } }, off = { 0 };
	struct sigaction sa = { 0 };
	char out[512];
	volatile long k;

	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	it_evict_all();
	setitimer(ITIMER_REAL, &every, NULL);
	for (k = 0; k < 20000; k++) {
		if (sigsetjmp(jump, 1))
			continue;
		mremap(m, IT_BLOCK, IT_BLOCK, 0);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	it_fill(m, LEN, 6);
	it_assert(!it_ctl(out, sizeof(out), "evict %d --all", (int)getpid()),
		  "eviction after %d siglongjmp()s out of mremap(): %s", jumps, out);
	it_assert(it_check(m, LEN, 6) < 0, "wrong bytes after the jumps");
	printf("%d siglongjmp()s out of mremap(): evictions still run\n", jumps);
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	it_watchdog(90, "");
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 7);
	cancelled("madvise");
	cancelled("mremap");
	cancelled("fork");
	it_assert(it_check(m, LEN, 7) < 0, "wrong bytes after the cancellations");
	printf("a pending cancellation: madvise(), mremap() and fork() return, "
	       "fork() works after\n");
	jumped_out();
	return 0;
}
