/* SPDX-License-Identifier: MIT */
/*
 * The agent never evicts its own memory, even where the kernel merged it
 * with the program's.  Its codec's working memory was a plain anonymous
 * mapping: under ThreadSanitizer the runtime's heap sat next to it, the
 * kernel merged the two, an eviction took the 2 MB block holding the
 * codec, and the agent thread faulted on it while encoding the next one
 * (it waits on itself: the eviction timed out, the program hung).
 *
 * Here the codec is placed where the test wants it
 * (UZSWAP_TEST_CODEC_AT), with 16 MB of the program's memory, the same
 * kind, right below and above it; then everything is evicted twice and
 * read back under a watchdog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itest.h"

#define AROUND (16 * IT_MB)
#define CODEC_AT 0x6ff000100000ul /* 1 MB past a 2 MB boundary */

/* The program's memory at exactly @at, filled; NULL if it is taken. */
static uint8_t *place(uintptr_t at, uint64_t seed)
{
	uint8_t *p = mmap((void *)at, AROUND, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (p != (uint8_t *)at) { /* an old kernel took it as a hint */
		munmap(p, AROUND);
		return NULL;
	}
	it_fill(p, AROUND, seed);
	return p;
}

/* The end of the mapping that starts at @start, or 0. */
static uintptr_t mapping_end(uintptr_t start)
{
	unsigned long s, e;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	it_assert(f, "/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == start) {
			fclose(f);
			return e;
		}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *below, *above;
	uintptr_t end;
	char at[32];

	snprintf(at, sizeof(at), "%#lx", CODEC_AT);
	setenv("UZSWAP_TEST_CODEC_AT", at, 1);
	it_setup(argc, argv);
	alarm(90);
	end = mapping_end(CODEC_AT);
	if (!end) {
		printf("SKIP: the codec is not at %s (the address was taken)\n", at);
		return 77;
	}
	below = place(CODEC_AT - AROUND, 91);
	above = place(end, 92);
	it_assert(below && above, "no room around the codec at %s", at);
	it_evict_all();
	it_assert(it_check(below, AROUND, 91) < 0 && it_check(above, AROUND, 92) < 0,
		  "wrong bytes");
	it_evict_all();
	it_assert(it_check(below, AROUND, 91) < 0 && it_check(above, AROUND, 92) < 0,
		  "wrong bytes");
	printf("the program's memory around the agent's codec evicted twice and "
	       "read back: the agent never waited on itself\n");
	return 0;
}
