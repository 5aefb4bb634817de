/* SPDX-License-Identifier: MIT */
/*
 * A library whose fork handlers are registered before the agent's (its
 * constructor runs first, being a dependency of the test program): its
 * prepare handler runs after the agent's, its parent and child handlers
 * before the agent's, all inside the agent's fork hooks.  What they do
 * is the test's: it_forkdrop drops (MADV_DONTNEED) a range in the child,
 * as an allocator purging in a child might; it_forkhooks maps memory in
 * the child and calls madvise(MADV_WIPEONFORK) in the others.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>

void *atfork_first_region;
size_t atfork_first_len;
void (*atfork_first_prepare_fn)(void);
void (*atfork_first_parent_fn)(void);
void (*atfork_first_child_fn)(void);

static void prepare(void)
{
	if (atfork_first_prepare_fn)
		atfork_first_prepare_fn();
}

static void parent(void)
{
	if (atfork_first_parent_fn)
		atfork_first_parent_fn();
}

static void child(void)
{
	if (atfork_first_region)
		madvise(atfork_first_region, atfork_first_len, MADV_DONTNEED);
	if (atfork_first_child_fn)
		atfork_first_child_fn();
}

__attribute__((constructor)) static void register_first(void)
{
	pthread_atfork(prepare, parent, child);
}
