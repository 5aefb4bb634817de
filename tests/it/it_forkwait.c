/* SPDX-License-Identifier: MIT */
/*
 * fork() while the parent's agent is slow to hand the child its
 * userfaultfd (load, a frozen cgroup, a debugger): the child waits, and
 * reads its evicted memory right however late the parent is.  The agent
 * delays its answer by UZSWAP_TEST_FORK_DELAY_MS here.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)
#define DELAY_MS "7000" /* longer than any wait the child once gave up after */

int main(int argc, char **argv)
{
	uint8_t *m;
	pid_t c;
	int st;

	setenv("UZSWAP_TEST_FORK_DELAY_MS", DELAY_MS, 1);
	it_setup(argc, argv);
	alarm(120);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 77);
	it_evict_all();
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(it_check(m, LEN, 77) < 0 ? 0 : 1);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the child of a late parent read wrong bytes (status %#x)", st);
	it_assert(it_check(m, LEN, 77) < 0, "the parent reads wrong bytes");
	printf("late parent: the child read its memory right\n");
	return 0;
}
