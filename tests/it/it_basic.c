/* SPDX-License-Identifier: MIT */
/* Evict THP-backed and 4 KB-backed memory, read it back, check it all. */
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define THP_LEN (64 * IT_MB)
#define SMALL_LEN (32 * IT_MB)

int main(int argc, char **argv)
{
	uint8_t *thp, *small;
	long rss0, rss1, huge0, huge1, bad;
	size_t off;
	uint64_t r4k;

	it_setup(argc, argv);
	thp = it_alloc(THP_LEN, 1);
	small = it_alloc(SMALL_LEN, 0);
	it_fill(thp, THP_LEN, 1);
	it_fill(small, SMALL_LEN, 2);
	rss0 = it_rss_kb(thp, THP_LEN) + it_rss_kb(small, SMALL_LEN);
	huge0 = it_huge_kb(thp, THP_LEN);
	printf("before: rss %ld kB, AnonHugePages %ld kB\n", rss0, huge0);

	/* a partial eviction takes what was asked, rounded up to blocks */
	{
		char out[1024];

		it_assert(!it_ctl(out, sizeof(out), "evict %d --bytes 8M", getpid()),
			  "evict --bytes: %s", out);
		it_assert(it_stat("evicted_bytes") >= 8 * IT_MB &&
			  it_stat("evicted_bytes") <= 8 * IT_MB + IT_BLOCK,
			  "--bytes 8M evicted %lu", (unsigned long)it_stat("evicted_bytes"));
		it_assert(it_stat("registered_bytes") >= THP_LEN + SMALL_LEN,
			  "registered %lu: not all managed memory counted",
			  (unsigned long)it_stat("registered_bytes"));
	}
	it_evict_all();
	rss1 = it_rss_kb(thp, THP_LEN) + it_rss_kb(small, SMALL_LEN);
	printf("evicted: rss %ld kB, evicted %lu, stored %lu\n", rss1,
	       (unsigned long)it_stat("evicted_bytes"),
	       (unsigned long)it_stat("stored_bytes"));
	it_assert(rss1 < rss0 / 20, "rss %ld kB after eviction of %ld kB", rss1, rss0);
	it_assert(it_stat("evicted_bytes") >= (THP_LEN + SMALL_LEN) * 9 / 10,
		  "evicted_bytes too small");

	/* sequential read of the THP region: whole blocks, huge again */
	bad = it_check(thp, THP_LEN, 1);
	it_assert(bad < 0, "THP region differs at offset %ld", bad);
	huge1 = it_huge_kb(thp, THP_LEN);
	printf("read back: AnonHugePages %ld kB (was %ld)\n", huge1, huge0);
	it_assert(huge1 * 100 >= huge0 * 99, "THPs not restored: %ld of %ld kB",
		  huge1, huge0);
	it_assert(it_stat("restores_2m") > 0, "no 2 MB restores");

	/* isolated touches in the middle of 4 KB-backed blocks: the page
	 * alone each; the read after them comes in 64 KB frames, around
	 * those pages */
	r4k = it_stat("restores_4k");
	for (off = IT_BLOCK / 2; off < SMALL_LEN; off += IT_BLOCK)
		(void)*(volatile uint8_t *)(small + off + 12345);
	it_assert(it_stat("restores_4k") - r4k == SMALL_LEN / IT_BLOCK,
		  "%lu pages restored alone for %lu isolated touches",
		  (unsigned long)(it_stat("restores_4k") - r4k),
		  (unsigned long)(SMALL_LEN / IT_BLOCK));
	bad = it_check(small, SMALL_LEN, 2);
	it_assert(it_stat("restores_64k") > 0, "no 64 KB restores");
	it_assert(bad < 0, "4 KB region differs at offset %ld", bad);
	it_assert(it_stat("evicted_bytes") == 0, "bytes still evicted after reading all");
	it_assert(it_stat("pool_bytes") == 0, "pool not empty after reading all");

	/* a write fault into evicted memory keeps the write and the rest */
	it_evict_all();
	memset(thp + 3 * IT_BLOCK + 100, 0xAB, 4096);
	it_fill(thp + 3 * IT_BLOCK + 100, 0, 0);
	for (off = 0; off < 4096; off++)
		it_assert(thp[3 * IT_BLOCK + 100 + off] == 0xAB, "write lost");
	bad = it_check(thp, 3 * IT_BLOCK + 100, 1);
	it_assert(bad < 0, "data before the write differs at %ld", bad);
	bad = it_check(small, SMALL_LEN, 2);
	it_assert(bad < 0, "4 KB region differs after 2nd eviction at %ld", bad);
	printf("faults %lu, 2M %lu, 64K %lu, zero %lu, prefetch %lu\n",
	       (unsigned long)it_stat("faults"), (unsigned long)it_stat("restores_2m"),
	       (unsigned long)it_stat("restores_64k"),
	       (unsigned long)it_stat("restores_zero"),
	       (unsigned long)it_stat("prefetch_2m"));
	return 0;
}
