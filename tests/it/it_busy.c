/* SPDX-License-Identifier: MIT */
/* Pages UFFDIO_MOVE refuses (EBUSY: shared with a child after fork) are
 * left in place, never lost; the parent's and child's copies stay right. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

int main(int argc, char **argv)
{
	uint8_t *thp, *small, *mine;
	int go[2], done[2];
	pid_t c;
	char b;
	int st;

	it_setup(argc, argv);
	thp = it_alloc(LEN, 1);
	small = it_alloc(LEN, 0);
	mine = it_alloc(LEN, 1);
	it_fill(thp, LEN, 51);
	it_fill(small, LEN, 52);
	it_assert(!pipe(go) && !pipe(done), "pipe");
	c = fork();
	if (c == 0) {
		/* hold the shared pages while the parent evicts; EOF, not a
		 * wait for ever, when the parent dies first */
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		_exit(it_check(thp, LEN, 51) >= 0 || it_check(small, LEN, 52) >= 0);
	}
	/* memory written after the fork is the parent's alone */
	it_fill(mine, LEN, 53);
	it_evict_all();
	printf("busy blocks: %lu, evicted %lu of %lu bytes\n",
	       (unsigned long)it_stat("evict_busy"),
	       (unsigned long)it_stat("evicted_bytes"), (unsigned long)(3 * LEN));
	it_assert(it_stat("evict_busy") > 0, "no block was refused as busy");
	it_assert(it_stat("evicted_bytes") >= LEN, "the parent's own memory was not evicted");
	/* and nothing shared: taking it would have meant copying it first
	 * (evict_regain_own on a page mapped twice), the child's memory
	 * doubled */
	it_assert(it_stat("evicted_bytes") <= LEN + 4 * IT_MB, "memory shared "
		  "with the child was taken (%lu bytes)",
		  (unsigned long)it_stat("evicted_bytes"));
	it_assert(write(go[1], "x", 1) == 1, "pipe");
	waitpid(c, &st, 0);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "child's copy is wrong");
	it_assert(it_check(thp, LEN, 51) < 0, "parent's shared THP memory is wrong");
	it_assert(it_check(small, LEN, 52) < 0, "parent's shared 4 KB memory is wrong");
	it_assert(it_check(mine, LEN, 53) < 0, "parent's own memory is wrong");
	return 0;
}
