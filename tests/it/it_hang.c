/* SPDX-License-Identifier: MIT */
/*
 * Things ordinary programs do that must never hang under the agent: free
 * memory on one thread while another reads evicted memory back (the
 * kernel refuses moves until the agent reads the free's event), many
 * unaligned mremaps of evicted memory while another thread frees,
 * evicted memory made read-only or locked before it is read, and grown
 * with mremap after one frame of it came back.  Every byte
 * is checked; a hang ends in the watchdog's SIGALRM and fails the test.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itest.h"

#define READ_LEN (64 * IT_MB)
#define FREE_LEN (64 * IT_MB)
#define WATCHDOG_S 120

/* set by the main thread, read by another: atomic (volatile is not) */
static int stop;

/* MADV_DONTNEED one 4 KB page after another of @arg, every 200 us, as
 * glibc's free() does, until told to stop. */
static void *freer(void *arg)
{
	uint8_t *mem = arg;
	size_t off = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		madvise(mem + off, 4096, MADV_DONTNEED);
		off = (off + 64 * 1024 + 4096) % FREE_LEN;
		usleep(200);
	}
	return NULL;
}

static void expect_zero_or_seed(const uint8_t *p, size_t len, uint64_t seed,
				const char *what)
{
	/* pages the freer dropped read zero, the others their data */
	static uint8_t want[4096];
	uint8_t *copy = it_alloc(len, 0);
	size_t off;

	it_fill(copy, len, seed);
	for (off = 0; off < len; off += 4096) {
		int same = !memcmp(p + off, copy + off, 4096);
		int zero = !memcmp(p + off, want, 4096);

		it_assert(same || zero, "%s: page at %zu is neither its data nor zero",
			  what, off);
	}
	munmap(copy, len);
}

/* A reader restoring whole blocks while another thread frees memory. */
static void read_while_freeing(void)
{
	uint8_t *rd = it_alloc(READ_LEN, 1), *fr = it_alloc(FREE_LEN, 1);
	pthread_t t;
	long bad;

	it_fill(rd, READ_LEN, 11);
	it_fill(fr, FREE_LEN, 12);
	it_evict_all();
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, freer, fr);
	bad = it_check(rd, READ_LEN, 11);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	it_assert(bad < 0, "read while freeing: byte %ld wrong", bad);
	expect_zero_or_seed(fr, FREE_LEN, 12, "freed region");
	munmap(rd, READ_LEN);
	munmap(fr, FREE_LEN);
	printf("read while freeing: ok\n");
}

/* 80 evicted 2 MB regions, each moved to a new place 1 page off the 2 MB
 * alignment (the agent must copy page by page), while a thread frees. */
#define N_REMAP 80
static void remap_while_freeing(void)
{
	uint8_t *src[N_REMAP], *dst[N_REMAP], *fr = it_alloc(FREE_LEN, 1);
	pthread_t t;
	int i;

	for (i = 0; i < N_REMAP; i++) {
		src[i] = it_alloc(IT_BLOCK, 1);
		it_fill(src[i], IT_BLOCK, 100 + i);
	}
	it_fill(fr, FREE_LEN, 13);
	it_evict_all();
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, freer, fr);
	for (i = 0; i < N_REMAP; i++) {
		uint8_t *where = it_alloc(IT_BLOCK + IT_BLOCK, 0) + 4096;

		dst[i] = mremap(src[i], IT_BLOCK, IT_BLOCK,
				MREMAP_MAYMOVE | MREMAP_FIXED, where);
		it_assert(dst[i] != MAP_FAILED, "mremap %d failed", i);
	}
	for (i = 0; i < N_REMAP; i++)
		it_assert(it_check(dst[i], IT_BLOCK, 100 + i) < 0,
			  "remapped region %d reads wrong", i);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	expect_zero_or_seed(fr, FREE_LEN, 13, "freed region");
	printf("remap while freeing: ok\n");
}

/* mremap() of evicted memory of which one block came back whole (and was
 * unregistered from the uffd) and another one frame: the blocks still
 * registered are VMAs of their own, and mremap wants one VMA. */
static void grow_after_partial_restore(void)
{
	uint8_t *m = it_alloc(16 * IT_MB, 1), *n;
	volatile uint8_t sink;

	it_fill(m, 16 * IT_MB, 31);
	it_evict_all();
	sink = m[0];		     /* the first block, whole */
	sink = m[5 * IT_MB + 12345]; /* one frame of a block in the middle */
	(void)sink;
	n = mremap(m, 16 * IT_MB, 32 * IT_MB, MREMAP_MAYMOVE);
	it_assert(n != MAP_FAILED, "mremap 16M -> 32M failed: %s", strerror(errno));
	it_assert(it_check(n, 16 * IT_MB, 31) < 0, "grown region reads wrong");
	munmap(n, 32 * IT_MB);
	printf("grow after a partial restore: ok\n");
}

/* Evicted memory whose VMA flags no longer match the agent's staging. */
static void read_only_and_locked(void)
{
	uint8_t *ro = it_alloc(8 * IT_MB, 1), *lk = it_alloc(8 * IT_MB, 1);

	it_fill(ro, 8 * IT_MB, 21);
	it_fill(lk, 8 * IT_MB, 22);
	it_evict_all();
	it_assert(!mprotect(ro, 8 * IT_MB, PROT_READ), "mprotect failed");
	it_assert(it_check(ro, 8 * IT_MB, 21) < 0, "read-only block reads wrong");
	if (mlock(lk, 8 * IT_MB) == 0) {
		it_assert(it_check(lk, 8 * IT_MB, 22) < 0, "locked block reads wrong");
		munlock(lk, 8 * IT_MB);
	} else {
		printf("mlock: %s (RLIMIT_MEMLOCK); not checked\n", strerror(errno));
	}
	printf("read-only and locked: ok\n");
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	/* a hang is a failure, not a CI timeout */
	signal(SIGALRM, SIG_DFL);
	alarm(WATCHDOG_S);
	/* an argument runs one part: read, remap or flags */
	if (argc < 2 || !strcmp(argv[1], "read"))
		read_while_freeing();
	if (argc < 2 || !strcmp(argv[1], "remap"))
		remap_while_freeing();
	if (argc < 2 || !strcmp(argv[1], "flags"))
		read_only_and_locked();
	if (argc < 2 || !strcmp(argv[1], "grow"))
		grow_after_partial_restore();
	return 0;
}
