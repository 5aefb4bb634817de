/* SPDX-License-Identifier: MIT */
/*
 * A signal handler that siglongjmp()s out of madvise(MADV_DONTNEED) must
 * not leave the agent's mark of a call under way (advising.c) behind:
 * before signals were held across the call, the marks leaked one by one
 * and, past the table's 64 slots, no block of the process was evicted
 * again (review probe p1_stuckmark: 6152 jumps, 131072 of 131072 kB
 * still resident after two evictions).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itest.h"

#define BLOCKS 64
#define LEN (BLOCKS * IT_BLOCK)

static uint8_t *mem;
static sigjmp_buf back;
static volatile int stop, jumps;
static pthread_t victim, pester_thread;

static void jump_out(int sig)
{
	(void)sig;
	jumps++;
	siglongjmp(back, 1);
}

static void *pester(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_kill(victim, SIGUSR1);
		usleep(200);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	volatile unsigned long calls = 0;
	long before, after;
	double t0;

	it_setup(argc, argv);
	mem = it_alloc(LEN, 0);
	it_fill(mem, LEN, 1);
	signal(SIGUSR1, jump_out);
	victim = pthread_self();
	t0 = it_now_s();
	/* the jump's target is set before the first signal can come: a
	 * signal before it jumped to a zeroed buffer (SIGSEGV in
	 * __longjmp, 3 of 10 runs under load, 2026-12-04) */
	if (!sigsetjmp(back, 1))
		it_assert(!pthread_create(&pester_thread, NULL, pester, NULL),
			  "thread");
	while (it_now_s() - t0 < 3) {
		madvise(mem + LEN - IT_BLOCK, 4096, MADV_DONTNEED);
		calls++;
	}
	/* a late signal must not jump back into the loop once it is left
	 * (it then joined the thread twice: SIGSEGV under load) */
	signal(SIGUSR1, SIG_IGN);
	stop = 1;
	pthread_join(pester_thread, NULL);
	printf("%lu madvise calls, %d jumps out of the handler\n", (unsigned long)calls, jumps);
	it_fill(mem, LEN, 2);
	before = it_rss_kb(mem, LEN);
	it_evict_all();
	after = it_rss_kb(mem, LEN);
	printf("%ld kB resident before the eviction, %ld kB after\n", before,
	       after);
	it_assert(jumps > 0, "no signal arrived");
	it_assert(after < before / 2, "the eviction took nothing: a mark of a "
		  "call jumped out of was left");
	it_assert(it_check(mem, LEN, 2) < 0, "wrong data read back");
	printf("PASS\n");
	return 0;
}
