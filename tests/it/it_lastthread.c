/* SPDX-License-Identifier: MIT */
/*
 * A process ends when its last application thread does, whatever the
 * agent's threads do: a thread that forks, and in the child finishes
 * with pthread_exit() (a threaded runtime's thread after fork), and a
 * main thread that ends with pthread_exit() after its last worker.
 * Without the agent both processes end with status 0; under it they
 * must too, and not hang (the watchdog's SIGALRM fails the test).
 * Each agent thread is slow to say which thread it is (300 ms between
 * being counted and its id written, as a filler preempted on a busy
 * machine was): one taken meanwhile for the application's was watched,
 * and the process lived for ever.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static void *fork_then_exit(void *arg)
{
	uint8_t *m = arg;
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		/* the child's only thread: touch evicted memory, then end */
		if (it_check(m, 8 * IT_MB, 3) >= 0)
			_exit(2);
		pthread_exit(NULL);
	}
	it_assert(pid > 0, "fork failed");
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the child ended with status %#x, not 0", st);
	return NULL;
}

static void *linger(void *arg)
{
	usleep(200000);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;
	uint8_t *m;

	setenv("UZSWAP_TEST_LIFELINE_GAP_MS", "300", 1);
	it_setup(argc, argv);
	alarm(60);
	/* SIGALRM cannot end a process whose last thread is the agent's */
	it_watchdog(90, "the process did not end");
	m = it_alloc(8 * IT_MB, 1);
	it_fill(m, 8 * IT_MB, 3);
	it_evict_all();
	pthread_create(&t, NULL, fork_then_exit, m);
	pthread_join(t, NULL);
	printf("a forked child whose only thread called pthread_exit ended\n");
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
