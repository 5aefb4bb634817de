/* SPDX-License-Identifier: MIT */
/*
 * A program that once started another (fork, then exec in the child: a
 * shell, python's subprocess) keeps its pages, but the kernel holds
 * them as not exclusive until each is written: UFFDIO_MOVE refused
 * them (EBUSY) and read-mostly memory could never be taken (the
 * automatic loop said "nothing" for good).  The agent now makes such a
 * block its own again without a copy (evict_regain_own) and takes it;
 * THP blocks come back as THPs, every byte right.  Memory still shared
 * with a live child is left alone, not copied: the child's and the
 * parent's bytes stay right and the parent's THPs whole.
 *
 * Built again as it_forkexec_auto (IT_AUTO): the automatic loop takes
 * the same memory through its inactive list (inactive_take, whose own
 * retry no other test reached), with no command.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

#ifdef IT_AUTO
static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=200\n"
	"auto-step=100\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n"
	"min-age=1\n";
#endif

/* fork, exec true in the child, wait for it */
static void run_true(void)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork");
	if (!c) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "/bin/true failed");
}

int main(int argc, char **argv)
{
	uint8_t *shared, *thp, *small;
	uint64_t evicted;
	int go[2];
	pid_t holder;
	char b;
	int st;

#ifdef IT_AUTO
	it_need_auto_loop();
	it_setup_config(argc, argv, config);
#else
	it_setup(argc, argv);
#endif
	/* shared with a child that lives on and reads it at the end */
	shared = it_alloc(LEN, 1);
	it_fill(shared, LEN, 61);
	it_assert(!pipe(go), "pipe");
	holder = fork();
	it_assert(holder >= 0, "fork");
	if (!holder) {
		/* EOF, not a wait for ever, when the parent dies first */
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		_exit(it_check(shared, LEN, 61) >= 0);
	}
	/* the parent's alone, then a child that runs exec at once */
	thp = it_alloc(LEN, 1);
	small = it_alloc(LEN, 0);
	it_fill(thp, LEN, 62);
	it_fill(small, LEN, 63);
	it_assert(it_huge_kb(thp, LEN) == (long)(LEN >> 10),
		  "no THPs to begin with (%ld kB)", it_huge_kb(thp, LEN));
	run_true();

#ifdef IT_AUTO
	/* the loop samples it to its inactive list, then compresses it */
	for (int i = 0; i < 300 && it_stat("evicted_bytes") < 2 * LEN; i++)
		usleep(100000);
	printf("the loop sampled %llu blocks to its inactive list\n",
	       (unsigned long long)it_stat("inactive_taken"));
	it_assert(it_stat("inactive_taken") >= 2 * LEN / IT_BLOCK,
		  "the loop took %llu blocks through its inactive list, not %lu",
		  (unsigned long long)it_stat("inactive_taken"), 2 * LEN / IT_BLOCK);
#else
	it_evict_all();
#endif
	evicted = it_stat("evicted_bytes");
	printf("after fork and exec: evicted %llu of %lu bytes; left: thp %ld kB, "
	       "4 KB pages %ld kB, shared %ld kB (%ld kB in THPs)\n",
	       (unsigned long long)evicted, 2 * LEN, it_rss_kb(thp, LEN),
	       it_rss_kb(small, LEN), it_rss_kb(shared, LEN),
	       it_huge_kb(shared, LEN));
	it_assert(it_rss_kb(thp, LEN) == 0 && it_rss_kb(small, LEN) == 0,
		  "memory of the parent's own, after a child ran exec, was not "
		  "taken");
	/* the shared part stayed, whole: no copy was made of it */
	it_assert(it_huge_kb(shared, LEN) == (long)(LEN >> 10),
		  "memory shared with a live child was copied or split: %ld kB "
		  "in THPs of %lu", it_huge_kb(shared, LEN), LEN >> 10);
	it_assert(evicted <= 2 * LEN + 4 * IT_MB,
		  "more was taken (%llu bytes) than the parent's own",
		  (unsigned long long)evicted);

	it_assert(it_check(thp, LEN, 62) < 0, "the THP memory is wrong");
	it_assert(it_check(small, LEN, 63) < 0, "the 4 KB memory is wrong");
	it_assert(it_huge_kb(thp, LEN) == (long)(LEN >> 10),
		  "THP blocks back as %ld kB of THPs of %lu",
		  it_huge_kb(thp, LEN), LEN >> 10);
	it_assert(it_check(shared, LEN, 61) < 0, "the parent's shared memory is wrong");
	it_assert(write(go[1], "x", 1) == 1, "pipe");
	it_assert(waitpid(holder, &st, 0) == holder && WIFEXITED(st) &&
			  !WEXITSTATUS(st), "the child's copy is wrong");
	printf("PASS: memory of a program that ran a child is taken, whole\n");
	return 0;
}
