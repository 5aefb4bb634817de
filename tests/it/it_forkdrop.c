/* SPDX-License-Identifier: MIT */
/*
 * A forked child drops evicted memory before its agent has started (a
 * fork child handler that runs before the agent's, as an allocator's
 * purge might): the REMOVE event reaches the parent's agent, which
 * serves the child until then, and must reach the child's table too.
 * The dropped block must read as zeros in the child, the rest as it was.
 * It read the old bytes once (the parent dropped the event).
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (4 * IT_MB)

extern void *atfork_first_region;
extern size_t atfork_first_len;

int main(int argc, char **argv)
{
	uint8_t *m;
	pid_t c;
	int st;

	it_setup(argc, argv);
	alarm(100);
	m = it_alloc(LEN, 0);
	memset(m, 0x5a, LEN);
	it_evict_all();
	it_assert(it_stat("evicted_bytes") >= LEN, "eviction took too little");
	atfork_first_region = m;
	atfork_first_len = IT_BLOCK;
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		size_t i, bad = 0;

		for (i = 0; i < IT_BLOCK; i++)
			bad += m[i] != 0;
		for (; i < LEN; i++)
			bad += m[i] != 0x5a;
		_exit(bad ? 1 : 0);
	}
	atfork_first_region = NULL;
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the child read wrong bytes "
		  "after dropping evicted memory while its agent started "
		  "(status %#x)", st);
	for (size_t i = 0; i < LEN; i++)
		it_assert(m[i] == 0x5a, "the parent's byte %zu changed", i);
	printf("a child dropping evicted memory as it starts reads zeros there\n");
	return 0;
}
