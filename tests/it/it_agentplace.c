/* SPDX-License-Identifier: MIT */
/*
 * The agent never maps its own memory into a hole the program has left.
 * A program may unmap (or mremap away) a range and map it again later at
 * the same address with MAP_FIXED, as glibc's realloc does with
 * MREMAP_FIXED: an agent mapping made in between, where the kernel put
 * it (the first free range that fits, often that very hole), was
 * replaced, and the agent thread then faulted on its own memory and
 * waited on itself (review F3).
 *
 * Here the program leaves a 256 MB hole, and fills every free range above
 * it with PROT_NONE mappings of its own, so that any new mapping the
 * kernel places lands in the hole; then it forks: the child's agent maps
 * its codecs, staging, its thread's stack anew.  In the child and
 * then in the parent, nothing may have been mapped in the hole, and the
 * program gets its range back (MAP_FIXED_NOREPLACE), fills it, has it
 * evicted and reads every byte back, with its older evicted memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define OLD (32 * IT_MB)
#define HOLE (256 * IT_MB)

static uint8_t *old;

/* The hole is still the program's, and its older memory right. */
static void take_back(uint8_t *hole, const char *who, uint64_t seed)
{
	it_take_back_hole(hole, HOLE, seed, who);
	it_assert(it_check(old, OLD, 1) < 0, "%s: wrong bytes in older memory", who);
}

int main(int argc, char **argv)
{
	uint8_t *hole;
	pid_t c;
	int st;

	it_setup(argc, argv);
	it_watchdog(300, "the agent waited on itself");
	old = it_alloc(OLD, 1);
	it_fill(old, OLD, 1);
	it_evict_all();

	hole = it_leave_hole(HOLE);

	c = fork();
	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (c == 0) {
		take_back(hole, "child", 2);
		_exit(0);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the child failed (status %#x)",
		  st);
	take_back(hole, "parent", 3);
	printf("a 256 MB hole the program left stayed free through a fork and "
	       "the child's agent restart; mapped again, filled, evicted and "
	       "read back in both\n");
	return 0;
}
