/* SPDX-License-Identifier: MIT */
/*
 * fault-nice= (boost.c): uzswapd gives the agent's threads that serve
 * faults (its loop and its worker) that nice value, and nothing else of
 * the process: not the main thread, not the filler (SCHED_IDLE), not
 * threads of the program named as the agent's beyond the two it looks
 * for.  Then faults are served as before.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "itest.h"

#define NICE (-7)
#define IMPOSTORS 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int quit;

/* a thread of the program that names itself as the agent's */
static void *impostor(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "uzswap-agent");
	pthread_mutex_lock(&lock);
	while (!quit)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

struct tally {
	unsigned at_nice, idle, other;
};

static void count(const char *tid, void *arg)
{
	struct tally *t = arg;
	int id = atoi(tid), n;

	errno = 0;
	n = getpriority(PRIO_PROCESS, (id_t)id);
	if (sched_getscheduler(id) == SCHED_IDLE)
		t->idle++;
	else if (!errno && n == NICE)
		t->at_nice++;
	else
		t->other++;
}

static struct tally look(void)
{
	struct tally t = { 0, 0, 0 };

	it_agent_threads(0, count, &t);
	return t;
}

int main(int argc, char **argv)
{
	pthread_t th[IMPOSTORS];
	struct tally t;
	double t0;
	uint8_t *p;
	long bad;
	int i;

	it_setup_config(argc, argv, "[daemon]\nauto=off\nfault-nice=-7\n");
	/* the agent's threads first (the daemon takes the lowest ids) */
	p = it_alloc(8 * IT_MB, 0);
	it_fill(p, 8 * IT_MB, 5);
	it_evict_all();
	for (i = 0; i < IMPOSTORS; i++)
		it_assert(!pthread_create(&th[i], NULL, impostor, NULL),
			  "pthread_create failed");
	t0 = it_now_s();
	do {
		usleep(50 * 1000);
		t = look();
	} while (t.at_nice < 2 && it_now_s() - t0 < 10);
	it_assert(t.at_nice == 2, "%u agent threads at nice %d after 10 s, "
		  "want 2 (the loop and the worker)", t.at_nice, NICE);
	/* the daemon looks again for 2 s at most: nothing more gets it */
	usleep(2500 * 1000);
	t = look();
	errno = 0;
	it_assert(t.at_nice == 2 && t.other == IMPOSTORS && t.idle == 1,
		  "threads named as the agent's: %u at nice %d, %u SCHED_IDLE, "
		  "%u others (want 2, 1, %d)", t.at_nice, NICE, t.idle, t.other,
		  IMPOSTORS);
	it_assert(getpriority(PRIO_PROCESS, 0) == 0 && !errno,
		  "the main thread's nice is %d", getpriority(PRIO_PROCESS, 0));
	bad = it_check(p, 8 * IT_MB, 5);
	it_assert(bad < 0, "wrong bytes at %ld", bad);
	pthread_mutex_lock(&lock);
	quit = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < IMPOSTORS; i++)
		pthread_join(th[i], NULL);
	printf("the agent's loop and worker at nice %d; its filler, the main "
	       "thread and %d threads named as the agent's not\n", NICE, IMPOSTORS);
	return 0;
}
