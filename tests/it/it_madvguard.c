/* SPDX-License-Identifier: MIT */
/*
 * MADV_GUARD_INSTALL (Linux 6.13) zaps its range without a REMOVE event:
 * after MADV_GUARD_REMOVE the range must read zeros, evicted or not.
 * Before the interposer brought an evicted range back first, 362 of its
 * 512 pages read their old data (review probe p3_guard).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "itest.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

static unsigned nonzero_pages(const uint8_t *p)
{
	static const uint8_t zero[4096];
	unsigned n = 0;
	size_t off;

	for (off = 0; off < IT_BLOCK; off += 4096)
		n += memcmp(p + off, zero, 4096) != 0;
	return n;
}

static void guard_and_read(uint8_t *b, const char *what)
{
	unsigned n;

	it_assert(!madvise(b, IT_BLOCK, MADV_GUARD_INSTALL),
		  "%s: MADV_GUARD_INSTALL: %s", what, strerror(errno));
	it_assert(!madvise(b, IT_BLOCK, MADV_GUARD_REMOVE),
		  "%s: MADV_GUARD_REMOVE: %s", what, strerror(errno));
	n = nonzero_pages(b);
	printf("%s: %u of %d pages not zero after the guard\n", what, n,
	       (int)(IT_BLOCK / 4096));
	it_assert(!n, "%s: old data came back after MADV_GUARD_INSTALL", what);
}

int main(int argc, char **argv)
{
	uint8_t *mem;
	int k;

	it_setup(argc, argv);
	mem = it_alloc(4 * IT_BLOCK, 0);
	if (madvise(mem + 3 * IT_BLOCK, 4096, MADV_GUARD_INSTALL)) {
		printf("SKIP: MADV_GUARD_INSTALL: %s (Linux 6.13 or later)\n",
		       strerror(errno));
		return 77;
	}
	it_assert(!madvise(mem + 3 * IT_BLOCK, 4096, MADV_GUARD_REMOVE), "remove");
	for (k = 0; k < 4; k++)
		it_fill(mem + k * IT_BLOCK, IT_BLOCK, 10 + k);
	it_evict_all();
	guard_and_read(mem, "an evicted block");
	it_fill(mem + IT_BLOCK, IT_BLOCK, 11); /* back, and written */
	guard_and_read(mem + IT_BLOCK, "a resident block");
	for (k = 2; k < 4; k++) /* the blocks beside them are intact */
		it_assert(it_check(mem + k * IT_BLOCK, IT_BLOCK, 10 + k) < 0,
			  "block %d lost its data", k);
	printf("PASS\n");
	return 0;
}
