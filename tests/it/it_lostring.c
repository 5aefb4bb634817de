/* SPDX-License-Identifier: MIT */
/*
 * A request from an application thread reaches an idle agent thread at
 * once even when its doorbell signal cannot be sent.  The agent thread
 * of an idle process sleeps up to a minute (loop.c quiet); a ring that
 * was lost then waited that long: a fork() took 46 s, and a core dump
 * held none of what was evicted (a review's probes, 2026-12-06).
 * After 20 s of idling, with 8 MB evicted, a fork() must return within
 * 3 s, and the child read every byte right:
 *  - RLIMIT_SIGPENDING 0: the user's signal queue has no room, so the
 *    tgkill() of the ring fails with EAGAIN (this process);
 *  - signalfd refused by a seccomp filter, as a sandbox may: the agent
 *    has no doorbell at all (a child, which execs this program again
 *    under the filter: "nobell").
 * Both go through the relay (doorbell.c): the worker thread, woken by a
 * futex, writes an eventfd the agent thread polls.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define IDLE_S 20
#define FORK_WITHIN_S 3.0

/* Idle, then fork(): fails the test if the fork is slow or the child
 * reads a wrong byte. */
static void idle_then_fork(const char *how)
{
	uint8_t *m = it_alloc(LEN, 1);
	double t0, took;
	pid_t c;
	int st;

	it_fill(m, LEN, 9);
	it_evict_all();
	sleep(IDLE_S);
	t0 = it_now_s();
	c = fork();
	if (c == 0)
		_exit(it_check(m, LEN, 9) < 0 ? 0 : 3);
	took = it_now_s() - t0;
	it_assert(c > 0, "%s: fork: %s", how, strerror(errno));
	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "%s: the child read a wrong byte (status %#x)", how, st);
	printf("%s: fork() after %d s idle took %.3f s\n", how, IDLE_S, took);
	it_assert(took < FORK_WITHIN_S, "%s: fork() after %d s idle took %.1f s",
		  how, IDLE_S, took);
}

/* This program again, with signalfd refused (EPERM). */
static pid_t start_nobell(const char *self)
{
	static const int nr[] = { SYS_signalfd4, SYS_signalfd };
	pid_t c = fork();

	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (c)
		return c;
	it_refuse_syscalls(nr, 2);
	execl(self, self, "nobell", (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", self, strerror(errno));
	_exit(5);
}

int main(int argc, char **argv)
{
	struct rlimit none = { 0, 0 };
	pid_t nobell;
	int st;

	it_setup(argc, argv);
	it_timeout(120);
	if (argc > 1 && !strcmp(argv[1], "nobell")) {
		idle_then_fork("no doorbell (signalfd refused)");
		return 0;
	}
	/* side by side: 20 s idle each */
	nobell = start_nobell("/proc/self/exe");
	it_assert(!setrlimit(RLIMIT_SIGPENDING, &none), "setrlimit: %s",
		  strerror(errno));
	idle_then_fork("RLIMIT_SIGPENDING 0");
	it_assert(waitpid(nobell, &st, 0) == nobell, "waitpid: %s", strerror(errno));
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the run without a doorbell failed (status %#x)", st);
	printf("PASS\n");
	return 0;
}
