/* SPDX-License-Identifier: MIT */
/*
 * A process ends when its last application thread does, whatever the
 * agent's threads do: a thread that forks, and in the child finishes
 * with pthread_exit(), thrd_exit() or its own cancellation (a threaded
 * runtime's thread after fork), and a
 * main thread that ends with pthread_exit() after its last worker.
 * Without the agent both processes end with status 0; under it they
 * must too, and not hang (the watchdog's SIGALRM fails the test), the
 * child within seconds.
 * Each agent thread is slow to say which thread it is (300 ms between
 * being counted and its id written, as a filler preempted on a busy
 * machine was): one taken meanwhile for the application's was watched,
 * and the process lived for ever.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <threads.h>
#include <unistd.h>

#include "itest.h"

enum ending { BY_PTHREAD_EXIT, BY_THRD_EXIT, BY_CANCEL, ENDINGS };
static const char *const ending_name[ENDINGS] = {
	"pthread_exit()", "thrd_exit()", "its own cancellation"
};
static uint8_t *mem;

/* The child's only thread ends as @how says, none of them exit(). */
static void end_thread(enum ending how)
{
	switch (how) {
	case BY_THRD_EXIT:
		thrd_exit(0);
	case BY_CANCEL:
		pthread_cancel(pthread_self());
		pthread_testcancel();
		break;
	default:
		break;
	}
	pthread_exit(NULL);
}

static void *fork_then_exit(void *arg)
{
	enum ending how = (enum ending)(intptr_t)arg;
	double t0 = it_now_s();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		/* the child's only thread: touch evicted memory, then end */
		if (it_check(mem, 8 * IT_MB, 3) >= 0)
			_exit(2);
		/* idle long enough for the agent thread's wake-ups to be
		 * 16 s apart (loop.c quiet): the next would come at 30 s */
		sleep(16);
		end_thread(how);
	}
	it_assert(pid > 0, "fork failed");
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the child ending by %s ended with status %#x, not 0",
		  ending_name[how], st);
	/* its end is said at once (lifeline.c main_ends), not seen at the
	 * idle agent thread's next wake-up */
	it_assert(it_now_s() - t0 < 24, "the child ending by %s took %.0f s",
		  ending_name[how], it_now_s() - t0);
	printf("a forked child whose only thread ended by %s ended %.1f s "
	       "after the fork\n", ending_name[how], it_now_s() - t0);
	return NULL;
}

static void *linger(void *arg)
{
	usleep(200000);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t, kids[ENDINGS];
	int i;

	setenv("UZSWAP_TEST_LIFELINE_GAP_MS", "300", 1);
	it_setup(argc, argv);
	alarm(80);
	/* SIGALRM cannot end a process whose last thread is the agent's */
	it_watchdog(90, "the process did not end");
	mem = it_alloc(8 * IT_MB, 1);
	it_fill(mem, 8 * IT_MB, 3);
	it_evict_all();
	/* one child for each way a thread ends in the C library, at once */
	for (i = 0; i < ENDINGS; i++)
		pthread_create(&kids[i], NULL, fork_then_exit, (void *)(intptr_t)i);
	for (i = 0; i < ENDINGS; i++)
		pthread_join(kids[i], NULL);
	fflush(stdout);
#ifdef __SANITIZE_THREAD__
	/* its runtime's own thread (started with our first thread, not in
	 * a forked child) lives on: this process would not end, agent or not */
	printf("ThreadSanitizer: the main process's last thread not tried\n");
	return 0;
#endif
	/* now this process: main ends first, its last worker a bit later */
	pthread_create(&t, NULL, linger, NULL);
	pthread_exit(NULL);
}
