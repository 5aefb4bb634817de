/* SPDX-License-Identifier: MIT */
/* The madvise() calls under way (src/agent/advising.c): ranges seen while
 * marked, gone when ended, a full table holding everything, threads
 * marking and ending at once. */
#include <pthread.h>
#include <stdio.h>

#include "advising.h"
#include "t.h"

#define MB2 (2ull << 20)
#define BLK(i) (0x7f0000000000ull + (uint64_t)(i) * MB2)

static void ranges(void)
{
	int a, b;

	t_assert(!advising_over(BLK(0), BLK(100)), "nothing under way yet");
	a = advising_begin(BLK(1) + 4096, 8192);
	t_assert(advising_over(BLK(1), BLK(2)), "its block");
	t_assert(!advising_over(BLK(0), BLK(1)), "the block before");
	t_assert(!advising_over(BLK(2), BLK(3)), "the block after");
	b = advising_begin(BLK(5), MB2);
	t_assert(a != b, "two calls, one slot");
	advising_end(a);
	t_assert(!advising_over(BLK(1), BLK(2)), "ended");
	t_assert(advising_over(BLK(5), BLK(6)), "the other one still there");
	advising_end(b);
	t_assert(!advising_over(BLK(0), BLK(100)), "all ended");
	/* a range to the top of the address space (the end wraps) */
	a = advising_begin(UINT64_MAX - 4095, 4096);
	t_assert(advising_over(UINT64_MAX - MB2 + 1, UINT64_MAX),
		 "a range at the very top");
	advising_end(a);
}

static void full(void)
{
	int slot[ADVISING_SLOTS + 2], i;

	for (i = 0; i < ADVISING_SLOTS + 2; i++)
		slot[i] = advising_begin(BLK(i), 4096);
	t_assert(advising_over(BLK(1000), BLK(1001)),
		 "more calls than slots: every block is held");
	advising_end(slot[ADVISING_SLOTS + 1]);
	t_assert(advising_over(BLK(1000), BLK(1001)), "one overflowed call left");
	advising_end(slot[ADVISING_SLOTS]);
	t_assert(!advising_over(BLK(1000), BLK(1001)), "none overflowed now");
	t_assert(advising_over(BLK(3), BLK(4)), "the slotted ones still held");
	advising_reset_child();
	t_assert(!advising_over(BLK(0), BLK(1000)), "a child starts empty");
}

/* Threads mark, check their own mark is seen, and end, at once */
static unsigned long missed;

static void *marker(void *arg)
{
	uint64_t base = BLK(10 * ((long)arg + 1));
	int i, s;

	for (i = 0; i < 200000; i++) {
		s = advising_begin(base, 4096);
		if (!advising_over(base, base + MB2))
			__atomic_add_fetch(&missed, 1, __ATOMIC_RELAXED);
		advising_end(s);
	}
	return NULL;
}

static void threads(void)
{
	pthread_t t[8];
	long i;

	for (i = 0; i < 8; i++)
		t_assert(!pthread_create(&t[i], NULL, marker, (void *)i), "thread");
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	t_assert(!missed, "%lu marks not seen by their own thread", missed);
	t_assert(!advising_over(0, UINT64_MAX), "every slot free again");
}

int main(void)
{
	ranges();
	full();
	threads();
	printf("advising: ranges, a full table and threads as expected\n");
	return 0;
}
