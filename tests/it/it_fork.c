/* SPDX-License-Identifier: MIT */
/* fork() after eviction: parent and child each keep a correct copy,
 * copy-on-write; a child that execs leaves nothing behind. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

int main(int argc, char **argv)
{
	uint8_t *m;
	pid_t c;
	int st;

	it_setup(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return 0;
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 41);
	it_evict_all();
	c = fork();
	if (c == 0) {
		/* the child writes its own copy and checks the rest */
		memset(m, 0xc1, IT_BLOCK);
		if (it_check(m + IT_BLOCK, LEN - IT_BLOCK, 41) >= 0) {
			uint8_t *ref = it_alloc(LEN, 0);

			it_fill(ref, LEN, 41);
			_exit(memcmp(m + IT_BLOCK, ref + IT_BLOCK, LEN - IT_BLOCK) ? 1 : 0);
		}
		_exit(0);
	}
	waitpid(c, &st, 0);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "child saw wrong data");
	/* the parent's copy is untouched by the child's writes */
	it_assert(it_check(m, LEN, 41) < 0, "parent's copy changed");

	/* evict again, fork, exec */
	it_evict_all();
	c = fork();
	if (c == 0) {
		execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "exec child failed");
	it_assert(it_check(m, LEN, 41) < 0, "parent's copy changed after exec child");
	printf("fork: parent and child copies correct\n");
	return 0;
}
