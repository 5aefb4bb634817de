/* SPDX-License-Identifier: MIT */
/*
 * A thread forks right after its stack was evicted.  In the child, our
 * child hook runs on that thread's stack before the child's own agent
 * thread exists to serve a fault: a stack page it touches that is still
 * evicted would hang the child for ever (and its parent in waitpid).
 * The fork is made 3 MB down the stack (only whole 2 MB blocks are
 * evicted, and the top of a thread's stack rarely is one), with the stack
 * pointer a little above a 64 KB frame boundary, the page below it
 * checked to be evicted: the child's fork path runs a few KB deeper than
 * the parent's, into the frame below.  Several distances are tried (a
 * child hung at 992 to 3056 bytes).
 */
#include <alloca.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/mman.h>

#include "itest.h"

#define DEPTH (4 * IT_MB)

static const unsigned above_edge[] = { 992, 2016, 3056, 4096, 6144, 8000 };
#define ROUNDS (sizeof(above_edge) / sizeof(above_edge[0]))
static int status, go[2], ready[2];
static unsigned round_no, misses[ROUNDS], forks;

/* Touch @n bytes of stack below us, so that those pages exist. */
static __attribute__((noinline)) void touch_stack(size_t n)
{
	volatile char *p = alloca(n);
	size_t i;

	for (i = 0; i < n; i += 4096)
		p[i] = 1;
}

/* Sit just above a 64 KB boundary while the main thread evicts
 * everything, then fork from there. */
static __attribute__((noinline)) pid_t fork_at_frame_edge(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	size_t down = 3 * IT_MB + ((sp - above_edge[round_no]) & 0xffff);
	volatile char *pad = alloca(down + 16);
	uintptr_t below = (((uintptr_t)pad & ~(uintptr_t)0xffff) - 4096);
	unsigned char resident = 1;
	char c = 0;

	pad[0] = 0;
	/* raw system calls: a sanitizer's interceptors of write(), read()
	 * and mincore() run frames deep enough to touch the page below
	 * and bring it back before it is looked at */
	if (syscall(SYS_write, ready[1], &c, 1) != 1 ||
	    syscall(SYS_read, go[0], &c, 1) != 1)
		return -1;
	/* the page the child's hook will reach: evicted now, or this
	 * round proves nothing and is tried again */
	if (syscall(SYS_mincore, below, 4096, &resident) || resident)
		return -2;
	return fork();
}

static void *forker(void *arg)
{
	pid_t c;
	int i;

	(void)arg;
	for (i = 0; i < (int)ROUNDS; i++) {
		round_no = (unsigned)i;
		touch_stack(DEPTH);
		c = fork_at_frame_edge();
		if (c == -2 && ++misses[i] < 3) {
			i--;
			continue;
		}
		if (c == -2)
			it_fail("%u bytes above the edge: the page below stayed "
				"resident through 3 evictions", above_edge[i]);
		if (c < 0)
			it_fail("fork failed");
		if (!c)
			_exit(7);
		forks++;
		if (waitpid(c, &status, 0) != c || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 7)
			it_fail("child %d (%u bytes above the edge) ended badly "
				"(status %#x)", i, above_edge[i], status);
	}
	close(ready[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t a;
	pthread_t t;

	it_setup(argc, argv);
	/* a hang is the failure this test looks for */
	alarm(60);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 8 * IT_MB);
	it_assert(!pipe(go) && !pipe(ready), "pipe failed");
	pthread_create(&t, &a, forker, NULL);
	for (;;) {
		char c = 0;

		if (read(ready[0], &c, 1) != 1)
			break; /* the forker is done (its end closed) */
		it_evict_all();
		it_assert(write(go[1], &c, 1) == 1, "forker gone");
	}
	pthread_join(t, NULL);
	it_assert(forks == ROUNDS, "only %u forks", forks);
	printf("a thread forked %zu times right after its stack was evicted, "
	       "992 to 8000 bytes above a frame edge: every child ran\n", ROUNDS);
	return 0;
}
