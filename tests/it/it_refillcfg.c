/* SPDX-License-Identifier: MIT */
/*
 * The daemon decides how faults bring memory back (issue 11): its
 * readahead= and finish-after= reach the agent with each eviction.
 * With readahead=0 a sequential reader of evicted huge pages gets each
 * block on its own fault and nothing ahead; after a reload to
 * readahead=3, the next eviction carries it: one touch of the first
 * block, then idle time, brings exactly 3 blocks back ahead (the review
 * found that a sequential read alone reads ahead 4 to 12 blocks of 16,
 * by timing, whatever the value).
 * With finish-after=1, a 64 KB refill in small pages is followed by the
 * rest of its block at idle.  Every byte is checked each time.
 */
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)
#define BLOCK (2 * IT_MB)
#define BLOCKS (LEN / BLOCK)

static void read_in_order(const uint8_t *p, uint64_t seed)
{
	long bad;

	for (size_t off = 0; off < LEN; off += 4096)
		(void)*(volatile const uint8_t *)(p + off);
	bad = it_check(p, LEN, seed);
	it_assert(bad < 0, "wrong byte at %ld (seed %lu)", bad, (unsigned long)seed);
}

int main(int argc, char **argv)
{
	uint64_t ahead0, faults0, r64k0, huge_kb;
	uint8_t *p, *small;

	it_setup_config(argc, argv, "[daemon]\nauto=off\nreadahead=0\n");
	alarm(120);
	p = it_alloc(LEN, 1);
	it_fill(p, LEN, 31);
	huge_kb = (uint64_t)it_huge_kb(p, LEN);
	if (huge_kb < LEN / 1024) {
		/* read-ahead is for blocks that were huge pages */
		printf("SKIP: %lu of %lu kB in huge pages (THP off or memory "
		       "fragmented)\n", (unsigned long)huge_kb,
		       (unsigned long)(LEN / 1024));
		return 77;
	}

	/* readahead=0: one whole restore per block, none ahead */
	it_evict_all();
	faults0 = it_stat("faults");
	read_in_order(p, 31);
	it_assert(it_stat("prefetch_2m") == 0, "readahead=0, yet %lu blocks read "
		  "ahead", (unsigned long)it_stat("prefetch_2m"));
	it_assert(it_stat("restores_2m") == BLOCKS, "readahead=0: %lu whole "
		  "restores of %u blocks", (unsigned long)it_stat("restores_2m"),
		  (unsigned)BLOCKS);
	printf("readahead=0: %lu faults for %u blocks\n",
	       (unsigned long)(it_stat("faults") - faults0), (unsigned)BLOCKS);

	/* a reload reaches the agent with its next eviction */
	it_reload("[daemon]\nauto=off\nreadahead=3\n");
	usleep(300 * 1000);
	it_evict_all();
	ahead0 = it_stat("prefetch_2m");
	(void)*(volatile const uint8_t *)p; /* the first block's first page */
	usleep(300 * 1000); /* read-ahead is the agent's idle work */
	it_assert(it_stat("prefetch_2m") - ahead0 == 3, "readahead=3: %lu "
		  "blocks read ahead after one touch, not 3",
		  (unsigned long)(it_stat("prefetch_2m") - ahead0));
	faults0 = it_stat("faults");
	read_in_order(p, 31);
	printf("readahead=3: 3 blocks read ahead after one touch; the rest read "
	       "in order with %lu faults, %lu blocks read ahead in all\n",
	       (unsigned long)(it_stat("faults") - faults0),
	       (unsigned long)(it_stat("prefetch_2m") - ahead0));

	/* finish-after=1: a block in small pages touched once comes back
	 * whole at idle; its other frames fault no more */
	it_reload("[daemon]\nauto=off\nfinish-after=1\n");
	usleep(300 * 1000);
	small = it_alloc(BLOCK * 2, 0);
	small += BLOCK - ((uintptr_t)small & (BLOCK - 1)); /* one aligned block */
	it_fill(small, BLOCK, 32);
	it_evict_all();
	r64k0 = it_stat("restores_64k");
	(void)*(volatile const uint8_t *)(small + 5 * 65536 + 100);
	usleep(500 * 1000); /* the agent finishes it when idle */
	faults0 = it_stat("faults");
	{
		long bad = it_check(small, BLOCK, 32);

		it_assert(bad < 0, "wrong byte at %ld of the small-page block", bad);
	}
	it_assert(it_stat("faults") == faults0, "finish-after=1: %lu more faults "
		  "reading the rest of a block that was to be finished",
		  (unsigned long)(it_stat("faults") - faults0));
	it_assert(it_stat("restores_64k") - r64k0 == 32, "finish-after=1: %lu "
		  "64 KB restores, not the block's 32",
		  (unsigned long)(it_stat("restores_64k") - r64k0));
	return 0;
}
