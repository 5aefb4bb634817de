/* SPDX-License-Identifier: MIT */
/*
 * A block partly back, taken again (retake.c) when the pool has no room
 * for its new record beside the old one: what moved out is put back
 * while the block is still in the table, and a drop of the program's
 * read meanwhile (the kernel refuses moves while its REMOVE waits) can
 * drop every frame still stored, which lets go of the block.  Its range
 * must stay registered until the pages are back: the first version
 * unregistered it at once, the put-back's moves and copies then found
 * no registered range, and the pages back read zero (384 of them, in
 * three runs of three; review probe p1_putback_drop).
 *
 * The pool is kept small (RLIMIT_FSIZE) and nearly full of random
 * bytes; block A is evicted, its frames 23..0 read back, and evicted
 * again while a second thread drops its frames 24..31 as soon as its
 * first page leaves.  Each round every page is checked: frames 0..23
 * as written, 24..31 zero if dropped, else as written.  The window is
 * narrow: some rounds miss it, and the test fails only on wrong bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "itest.h"

#define FRAME 65536ul
#define FILLER_LEN (128 * IT_MB)
#define ROUNDS 14
#define POOL_LIMIT (96 * IT_MB)

static uint8_t *blk;
static atomic_int armed, fired, stop;

static void random_bytes(void *p, size_t n, uint64_t s)
{
	uint64_t *q = p;

	for (size_t i = 0; i < n / 8; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		q[i] = s;
	}
}

/* Drops frames 24..31 the moment the block's first page leaves */
static void *dropper(void *arg)
{
	unsigned char v;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (!atomic_load(&armed))
			continue;
		if (!mincore(blk, 4096, &v) && !(v & 1)) {
			madvise(blk + 24 * FRAME, 8 * FRAME, MADV_DONTNEED);
			atomic_store(&fired, 1);
			atomic_store(&armed, 0);
		}
	}
	return NULL;
}

/* Pages of the block that read other than they should */
static unsigned wrong_pages(const uint8_t *want, int dropped)
{
	static const uint8_t zero[4096];
	unsigned pg, bad = 0;

	for (pg = 0; pg < IT_BLOCK / 4096; pg++) {
		const uint8_t *w = dropped && pg >= 24 * 16 ? zero : want + pg * 4096ul;

		bad += memcmp(blk + pg * 4096ul, w, 4096) != 0;
	}
	return bad;
}

int main(int argc, char **argv)
{
	static uint8_t want[IT_BLOCK];
	struct rlimit rl = { POOL_LIMIT, POOL_LIMIT };
	unsigned round, hits = 0, bad;
	uint8_t *filler;
	pthread_t t;
	char out[4096];

	if (!getenv("IT_UNDER_AGENT")) {
		/* the pool's writes fail past this: a full pool, soon */
		it_assert(!setrlimit(RLIMIT_FSIZE, &rl), "setrlimit: %s", strerror(errno));
		/* the drop's zap is waited for only 1 ms (events.c) */
		setenv("UZSWAP_TEST_REMOVE_WINDOW_MS", "1", 1);
	}
	it_setup(argc, argv);
	/* the block below the filler, so that a walk meets it first */
	blk = it_alloc(IT_BLOCK + FILLER_LEN, 0);
	filler = blk + IT_BLOCK;
	random_bytes(filler, FILLER_LEN, 12345);
	it_assert(!pthread_create(&t, NULL, dropper, NULL), "pthread_create");
	for (round = 0; round < ROUNDS; round++) {
		/* a fresh block each round, at the same place */
		it_assert(mmap(blk, IT_BLOCK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == blk,
			  "mmap: %s", strerror(errno));
		madvise(blk, IT_BLOCK, MADV_NOHUGEPAGE);
		random_bytes(want, IT_BLOCK, 777 + round);
		memcpy(blk, want, IT_BLOCK);
		it_ctl(out, sizeof(out), "evict %d --all", getpid());
		if (it_resident_share(blk, IT_BLOCK) > 0.05)
			continue; /* no room for it at all: not this case */
		/* frames 23..0 back, from the top down: not finished at idle */
		for (int f = 23; f >= 0; f--)
			(void)*(volatile uint8_t *)(blk + f * FRAME);
		usleep(20000);
		atomic_store(&fired, 0);
		atomic_store(&armed, 1);
		it_ctl(out, sizeof(out), "evict %d --all", getpid());
		for (int w = 0; w < 200 && atomic_load(&armed); w++)
			usleep(1000);
		atomic_store(&armed, 0);
		hits += atomic_load(&fired);
		bad = wrong_pages(want, atomic_load(&fired));
		it_assert(!bad, "round %u: %u of the block's pages read wrong after "
			  "it was taken again%s", round, bad,
			  atomic_load(&fired) ? " with its stored frames dropped meanwhile" : "");
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("%u rounds, every page right; the drop came during the eviction "
	       "in %u of them\n", ROUNDS, hits);
	return 0;
}
