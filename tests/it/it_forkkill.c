/* SPDX-License-Identifier: MIT */
/*
 * A thread forks again and again while the daemon is killed and started
 * again, with memory evicted: every fork must finish.  The agent thread,
 * seeing its daemon gone, looked for a freezer hold to thaw with fopen()
 * (malloc's and stdio's locks) while glibc's fork() held both and waited
 * in the kernel for the agent thread to read its userfaultfd FORK event:
 * each waited on the other for good (it_stress --clients 2 --kills 2: 17
 * hangs in 18 failing runs of 70).
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)
#define KILLS 12

static volatile int stop;
static unsigned long forks;

static void *forker(void *arg)
{
	(void)arg;
	while (!stop) {
		pid_t k = fork();

		if (k == 0)
			_exit(0);
		if (k > 0)
			waitpid(k, NULL, 0);
		__atomic_add_fetch(&forks, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* Evict once the agent is connected again (it redials on its own) */
static void evict_when_back(void)
{
	double t0 = it_now_s();
	char out[4096];

	while (it_ctl(out, sizeof(out), "evict %d --all", getpid())) {
		if (it_now_s() - t0 > 20)
			it_fail("not back with the daemon 20 s after its restart");
		usleep(100000);
	}
}

int main(int argc, char **argv)
{
	uint8_t *mem;
	pthread_t t;
	int i;

	it_setup(argc, argv);
	/* a hung fork holds malloc's lock, and this thread's restarts
	 * take it too: the watchdog tells */
	it_watchdog(150, " (a fork() and the agent waiting on each other)");
	mem = it_alloc(LEN, 1);
	it_fill(mem, LEN, 5);
	it_evict_all();
	it_assert(!pthread_create(&t, NULL, forker, NULL), "thread");
	for (i = 0; i < KILLS; i++) {
		unsigned long seen;
		double t0;

		it_daemon_kill();
		it_daemon_restart();
		seen = __atomic_load_n(&forks, __ATOMIC_SEQ_CST);
		t0 = it_now_s();
		while (__atomic_load_n(&forks, __ATOMIC_SEQ_CST) < seen + 3) {
			if (it_now_s() - t0 > 20)
				it_fail("no fork finished for 20 s after daemon "
					"kill %d (%lu forks before)", i + 1, seen);
			usleep(10000);
		}
		if (i % 3 == 2) /* evicted again, for the next kills */
			evict_when_back();
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("%d daemon kills, %lu forks\n", KILLS, forks);
	it_assert(it_check(mem, LEN, 5) < 0, "wrong data read back");
	printf("PASS\n");
	return 0;
}
