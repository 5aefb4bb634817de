/* SPDX-License-Identifier: MIT */
/*
 * MADV_GUARD_INSTALL (Linux 6.13) zaps its range without a REMOVE event:
 * after MADV_GUARD_REMOVE the range must read zeros, evicted or not.
 * Before the interposer brought an evicted range back first, 362 of its
 * 512 pages read their old data (review probe p3_guard).  The same
 * through process_madvise() on our own pidfd (Linux 6.13 takes any
 * advice there), which glibc gives and nothing brought back before.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

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

/* MADV_GUARD_INSTALL on block @b, by process_madvise() on our own
 * pidfd when @pidfd >= 0 */
static void guard_install(uint8_t *b, int pidfd, const char *what)
{
	struct iovec iov = { b, IT_BLOCK };

	if (pidfd < 0)
		it_assert(!madvise(b, IT_BLOCK, MADV_GUARD_INSTALL),
			  "%s: MADV_GUARD_INSTALL: %s", what, strerror(errno));
	else
		it_assert(process_madvise(pidfd, &iov, 1, MADV_GUARD_INSTALL,
					  0) == (ssize_t)IT_BLOCK,
			  "%s: process_madvise(MADV_GUARD_INSTALL): %s", what,
			  strerror(errno));
}

static void guard_and_read(uint8_t *b, int pidfd, const char *what)
{
	unsigned n;

	guard_install(b, pidfd, what);
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
	int k, pidfd;

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
	guard_and_read(mem, -1, "an evicted block");
	it_fill(mem + IT_BLOCK, IT_BLOCK, 11); /* back, and written */
	guard_and_read(mem + IT_BLOCK, -1, "a resident block");
	for (k = 2; k < 4; k++) /* the blocks beside them are intact */
		it_assert(it_check(mem + k * IT_BLOCK, IT_BLOCK, 10 + k) < 0,
			  "block %d lost its data", k);
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	it_assert(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	it_fill(mem + 2 * IT_BLOCK, IT_BLOCK, 12);
	it_evict_all();
	guard_and_read(mem + 2 * IT_BLOCK, pidfd,
		       "an evicted block, process_madvise()");
	it_assert(it_check(mem + 3 * IT_BLOCK, IT_BLOCK, 13) < 0,
		  "block 3 lost its data");
	close(pidfd);
	printf("PASS\n");
	return 0;
}
