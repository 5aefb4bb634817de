/* SPDX-License-Identifier: MIT */
/*
 * The refault history (issue 11's cold detection needs it): each
 * evicted block's first fault counts once, with the time since it was
 * taken (uzswapctl stats: REFAULTS, AGE-P50).  Blocks touched again, or
 * brought back without a fault, add nothing.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define BLOCK (2 * IT_MB)

static void touch_each_block(const uint8_t *p)
{
	for (size_t off = 0; off < LEN; off += BLOCK)
		(void)*(volatile const uint8_t *)(p + off + 8192);
}

int main(int argc, char **argv)
{
	uint8_t *a, *b;
	uint64_t n, age;

	it_setup(argc, argv);
	alarm(120);
	a = it_alloc(LEN, 1);
	b = it_alloc(LEN, 1);
	it_fill(a, LEN, 81);
	it_fill(b, LEN, 82);
	it_assert(it_stat("refaults") == 0, "refaults before any eviction");
	it_evict_all();
	usleep(1200 * 1000);
	touch_each_block(a);
	n = it_stat("refaults");
	age = it_stat("refault_age_p50_ms");
	it_assert(n == LEN / BLOCK, "%lu refaults after touching %lu evicted "
		  "blocks once", (unsigned long)n, (unsigned long)(LEN / BLOCK));
	it_assert(age >= 1100 && age < 60000, "median refault age %lu ms, the "
		  "blocks were evicted 1.2 s before", (unsigned long)age);
	/* again, and all of it: no block counts twice */
	it_assert(it_check(a, LEN, 81) < 0, "wrong bytes");
	it_assert(it_stat("refaults") == n, "a block counted twice: %lu",
		  (unsigned long)it_stat("refaults"));
	{
		/* as uzswapctl shows it: ns with -b, counted in the totals */
		char out[1 << 16], want[64];
		unsigned long long ns = 0;

		it_assert(!it_ctl(out, sizeof(out), "stats -b -r -n -o pid,age-p50"),
			  "uzswapctl stats -b failed");
		snprintf(want, sizeof(want), "%d ", getpid());
		it_assert(strstr(out, want) && sscanf(strstr(out, want) +
			  strlen(want), "%llu", &ns) == 1 &&
			  ns == age * 1000000ull, "stats -b: AGE-P50 not %llu ns "
			  "in: %s", (unsigned long long)age * 1000000ull, out);
		it_assert(!it_ctl(out, sizeof(out), "stats --json"), "stats --json");
		it_assert(strstr(strstr(out, "\"totals\""), "\"refaults\""),
			  "no refaults in the JSON totals: %s", strstr(out, "\"totals\""));
	}
	/* brought back without a fault: not a refault */
	it_assert(!madvise(b, LEN, MADV_WILLNEED), "MADV_WILLNEED");
	it_assert(it_check(b, LEN, 82) < 0, "wrong bytes");
	it_assert(it_stat("refaults") == n, "MADV_WILLNEED counted as refaults");
	/* evicted again: a new eviction, a new refault, young this time */
	it_evict_all();
	touch_each_block(b);
	it_assert(it_stat("refaults") == 2 * n, "%lu refaults after a second "
		  "eviction", (unsigned long)it_stat("refaults"));
	it_assert(it_check(b, LEN, 82) < 0 && it_check(a, LEN, 81) < 0, "wrong bytes");
	printf("%lu refaults, median age %lu ms (evicted 1.2 s before the "
	       "first %lu)\n", (unsigned long)it_stat("refaults"),
	       (unsigned long)it_stat("refault_age_p50_ms"), (unsigned long)n);
	return 0;
}
