/* SPDX-License-Identifier: MIT */
/*
 * For it_forkdrop: a library whose fork child handler is registered
 * before the agent's (its constructor runs first, being a dependency of
 * the test program), so that it runs in a forked child before that
 * child's agent has started.  It drops (MADV_DONTNEED) the range the
 * test names, as an allocator purging in a child might.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>

void *atfork_first_region;
size_t atfork_first_len;

static void child(void)
{
	if (atfork_first_region)
		madvise(atfork_first_region, atfork_first_len, MADV_DONTNEED);
}

__attribute__((constructor)) static void register_first(void)
{
	pthread_atfork(NULL, NULL, child);
}
