/* SPDX-License-Identifier: MIT */
/*
 * Signal handlers that land inside an interposed call holding the fork
 * lock: a thread loops on madvise(MADV_WIPEONFORK) (or on fork()) while
 * another keeps signalling it, and the handler calls
 * madvise(MADV_WIPEONFORK) or fork() (async-signal-safe).  The lock was
 * held with signals open: the handler waited on its own thread for ever
 * (found by a review; its probe p_sigwipe).  Three pairings, 2 s each.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

enum pairing { WIPE_IN_WIPE, FORK_IN_WIPE, WIPE_IN_FORK, PAIRINGS };
static const char *const names[PAIRINGS] = {
	"madvise(WIPEONFORK) in a handler inside madvise(WIPEONFORK)",
	"fork() in a handler inside madvise(WIPEONFORK)",
	"madvise(WIPEONFORK) in a handler inside fork()",
};

static char *range, *page;
static enum pairing now;
static unsigned long handled; /* __atomic: the ring thread reads it */
static int stop;

static void reap_fork(void)
{
	pid_t c = fork();

	if (c == 0)
		_exit(0);
	if (c > 0)
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
}

static void on_usr1(int s)
{
	int e = errno;

	(void)s;
	if (now == FORK_IN_WIPE)
		reap_fork();
	else
		madvise(page, 4096, MADV_WIPEONFORK);
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
	errno = e;
}

/* Signal the main thread every 200 µs until told to stop, once the last
 * handler is over (a handler that forks takes longer than that: the main
 * thread would run nothing else). */
static void *ring(void *main_thread)
{
	struct timespec gap = { 0, 200 * 1000 };
	unsigned long seen;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		seen = __atomic_load_n(&handled, __ATOMIC_RELAXED);
		pthread_kill(*(pthread_t *)main_thread, SIGUSR1);
		nanosleep(&gap, NULL);
		while (__atomic_load_n(&handled, __ATOMIC_RELAXED) == seen &&
		       !__atomic_load_n(&stop, __ATOMIC_RELAXED))
			nanosleep(&gap, NULL);
	}
	return NULL;
}

static void on_alarm(int s)
{
	static const char m[] = "FAIL: no progress for 30 s: a handler waits on "
				"its own thread\n";

	(void)s;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(int argc, char **argv)
{
	pthread_t me = pthread_self(), t;
	unsigned long rounds;
	time_t t0;

	it_setup(argc, argv);
	signal(SIGALRM, on_alarm);
	range = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	it_assert(range != MAP_FAILED && page != MAP_FAILED, "mmap failed");
	signal(SIGUSR1, on_usr1);
	for (now = 0; now < PAIRINGS; now++) {
		alarm(30);
		__atomic_store_n(&handled, 0, __ATOMIC_RELAXED);
		rounds = 0;
		__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
		pthread_create(&t, NULL, ring, &me);
		for (t0 = time(NULL); time(NULL) - t0 < 2; rounds++) {
			if (now == WIPE_IN_FORK) {
				reap_fork();
				continue;
			}
			madvise(range, 64 * 4096, MADV_WIPEONFORK);
			madvise(range, 64 * 4096, MADV_KEEPONFORK);
		}
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		pthread_join(t, NULL);
		it_assert(handled > 0, "%s: no handler ran", names[now]);
		printf("%s: %lu rounds, %lu handlers, no hang\n", names[now],
		       rounds, handled);
	}
	return 0;
}
