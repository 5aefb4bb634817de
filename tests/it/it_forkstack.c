/* SPDX-License-Identifier: MIT */
/*
 * A thread forks right after its stack was evicted.  In the child, our
 * child hook runs on that thread's stack before the child's own agent
 * thread exists to serve a fault: a stack page it touches that is still
 * evicted would hang the child for ever (and its parent in waitpid).
 * The fork is made 3 MB down the stack (only whole 2 MB blocks are
 * evicted, and the top of a thread's stack rarely is one), with the stack
 * pointer just above a 64 KB frame boundary, so that the hook's frames
 * reach into the next frame down.
 */
#include <alloca.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define DEPTH (4 * IT_MB)

static int status, go[2], ready[2];

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
	size_t down = 3 * IT_MB + ((sp - 256) & 0xffff);
	volatile char *pad = alloca(down + 16);
	char c = 0;

	pad[0] = 0;
	if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
		return -1;
	return fork();
}

static void *forker(void *arg)
{
	pid_t c;
	int i;

	(void)arg;
	for (i = 0; i < 5; i++) {
		touch_stack(DEPTH);
		c = fork_at_frame_edge();
		if (c < 0)
			it_fail("fork failed");
		if (!c)
			_exit(7);
		if (waitpid(c, &status, 0) != c || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 7)
			it_fail("child %d ended badly (status %#x)", i, status);
	}
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
	for (int i = 0; i < 5; i++) {
		char c = 0;

		it_assert(read(ready[0], &c, 1) == 1, "forker gone");
		it_evict_all();
		it_assert(write(go[1], &c, 1) == 1, "forker gone");
	}
	pthread_join(t, NULL);
	printf("a thread forked 5 times right after its stack was evicted: "
	       "every child ran\n");
	return 0;
}
