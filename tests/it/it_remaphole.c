/* SPDX-License-Identifier: MIT */
/*
 * An mremap onto the range another mremap has just left, while the
 * agent is copying that range's stored pages to their new home.  The
 * kernel moves the second range's VMA first and queues its REMAP event
 * after; the agent, finishing the first move's copy, let go of the old
 * range (UFFDIO_UNREGISTER) before it read that REMAP, and so let go of
 * the range just moved there: reads there then mapped the huge zero
 * page without asking the agent, whole blocks of zeros (it_forkfreeze
 * failed so in 2-3 runs in 100 under load; the stress test's "zero
 * after mremap" of 2026-12-06 was likely the same).
 * UZSWAP_TEST_TASK_DROP_DELAY_MS holds the agent 300 ms between the
 * copy and letting go, so that the second mremap lands in between.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)

static uint8_t *first_new;
static int go[2];

/* Once told, one read of the first move's new range: its fault runs
 * the copy.  (Started before the moves: a thread's stack made after
 * the first could be put in the hole it left, which the second move
 * then replaces.) */
static void *reader(void *arg)
{
	char c;

	(void)arg;
	it_assert(read(go[0], &c, 1) == 1, "reader: read");
	it_assert(it_check(first_new, 4096, 1) < 0,
		  "the first moved range's first page is wrong");
	return NULL;
}

int main(int argc, char **argv)
{
	uint8_t *first, *second, *hole, *to, *held;
	pthread_t t;

	setenv("UZSWAP_TEST_TASK_DROP_DELAY_MS", "300", 1);
	it_setup(argc, argv);
	it_timeout(60);
	first = it_alloc(LEN, 1);
	second = it_alloc(LEN, 1);
	it_fill(first, LEN, 1);
	it_fill(second, LEN, 2);
	it_evict_all();
	it_assert(!pipe(go), "pipe");
	pthread_create(&t, NULL, reader, NULL);
	/* the first range, a page off its alignment: copied page by page
	 * as it is read */
	hole = it_alloc(LEN + IT_BLOCK, 0);
	first_new = (uint8_t *)syscall(SYS_mremap, first, LEN, LEN,
				       MREMAP_MAYMOVE | MREMAP_FIXED, hole + 4096);
	it_assert(first_new != MAP_FAILED, "the first mremap failed");
	/* the place it left stays ours (as a program's next allocation
	 * there would be): the second move replaces this */
	held = mmap(first, LEN, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	it_assert(held == first, "the first range's old place was taken");
	it_assert(write(go[1], "g", 1) == 1, "write");
	usleep(100000); /* the agent is between the copy and letting go */
	/* the second, whole blocks, onto where the first was (the system
	 * call itself: the interposer would wait for nothing here, but
	 * glibc's realloc makes it so) */
	to = (uint8_t *)syscall(SYS_mremap, second, LEN, LEN,
				MREMAP_MAYMOVE | MREMAP_FIXED, first);
	it_assert(to == first, "the second mremap failed");
	pthread_join(t, NULL);
	it_assert(it_check(to, LEN, 2) < 0, "the second range, moved onto the "
		  "first's old place, reads wrong at %ld", it_check(to, LEN, 2));
	it_assert(it_check(first_new, LEN, 1) < 0, "the first range reads wrong "
		  "at %ld", it_check(first_new, LEN, 1));
	printf("an mremap onto a range whose copy was under way: every byte "
	       "right\n");
	return 0;
}
