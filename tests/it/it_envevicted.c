/* SPDX-License-Identifier: MIT */
/*
 * The agent never reads the environment once the program runs.  A
 * program that called setenv(), or moved its environment (redis writes
 * its process title over the old one), keeps it in memory we may evict,
 * and the agent thread faulting there waits for itself: real_redis's
 * first eviction timed out so when a test hook was read at a walk's end.
 * Here the environment moves into evictable memory and is evicted, then
 * the agent's paths that read a variable at their first use run: a
 * walk's end (UZSWAP_TEST_WALK_SETTLE_MS), the end of an mremap's copy
 * (UZSWAP_TEST_TASK_DROP_DELAY_MS) and a fork (UZSWAP_TEST_FD_CLOSE_
 * DELAY_MS), each bounded by the watchdog.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define ENV_AREA (2 * IT_BLOCK)
#define LEN (4 * IT_BLOCK)

/* environ, array and strings, copied into evictable memory, which is
 * returned */
static char *environ_moved(void)
{
	char *area = it_alloc(ENV_AREA, 0), **arr = (char **)area;
	size_t n, i, at;

	for (n = 0; environ[n]; n++)
		;
	at = (n + 1) * sizeof(char *);
	for (i = 0; i < n; i++) {
		size_t len = strlen(environ[i]) + 1;

		it_assert(at + len < ENV_AREA, "the environment is too big");
		memcpy(area + at, environ[i], len);
		arr[i] = area + at;
		at += len;
	}
	arr[n] = NULL;
	/* not zero pages: evicted as data */
	memset(area + at, 'e', ENV_AREA - at);
	environ = arr;
	return area;
}

int main(int argc, char **argv)
{
	uint8_t *mem, *moved;
	char *env;
	pid_t c;
	int st;

	if (!getenv("IT_UNDER_AGENT")) {
		setenv("UZSWAP_TEST_WALK_SETTLE_MS", "1", 1);
		setenv("UZSWAP_TEST_TASK_DROP_DELAY_MS", "1", 1);
		setenv("UZSWAP_TEST_FD_CLOSE_DELAY_MS", "1", 1);
	}
	it_setup(argc, argv);
	it_watchdog(60, "an agent path with the environment evicted");
	mem = it_alloc(LEN, 0);
	it_fill(mem, LEN, 9);
	env = environ_moved();
	it_evict_all();
	it_assert(it_resident_share(env, ENV_AREA) == 0,
		  "the environment was not evicted (%.0f %% resident)",
		  100 * it_resident_share(env, ENV_AREA));
	printf("evicted with the environment: a walk's end\n");
	/* moved whole while evicted: the agent copies it over (a task) */
	moved = mremap(mem, LEN, LEN, MREMAP_MAYMOVE);
	it_assert(moved != MAP_FAILED, "mremap failed");
	it_assert(it_check(moved, LEN, 9) < 0, "wrong bytes after the mremap");
	printf("an mremap of evicted memory, every byte right\n");
	it_evict_all();
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(it_check(moved, LEN, 9) < 0 && getenv("IT_UNDER_AGENT") ? 0 : 1);
	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "the forked child read wrong bytes or its environment (%#x)", st);
	it_assert(getenv("IT_UNDER_AGENT") != NULL, "our own environment is gone");
	printf("a fork with the environment evicted: the child right\n");
	return 0;
}
