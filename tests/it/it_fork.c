/* SPDX-License-Identifier: MIT */
/* fork() after eviction: parent and child each keep a correct copy,
 * sharing the stored blocks copy-on-write; nothing is restored at fork;
 * a child that exits or execs leaves nothing behind. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

static uint8_t *m, *ref;

/* The child: read half, write a block, check all; exit code says. */
static int child_work(void)
{
	if (memcmp(m + LEN / 2, ref + LEN / 2, LEN / 2))
		return 1;
	memset(m, 0xc1, IT_BLOCK);
	if (memcmp(m + IT_BLOCK, ref + IT_BLOCK, LEN - IT_BLOCK))
		return 2;
	/* a grandchild shares the same stored copy */
	pid_t g = fork();
	int st;

	if (g == 0)
		_exit(memcmp(m + IT_BLOCK, ref + IT_BLOCK, LEN - IT_BLOCK) ? 3 : 0);
	waitpid(g, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

static void wait_ok(pid_t c, const char *what)
{
	int st;

	waitpid(c, &st, 0);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "%s failed (status %#x)", what, st);
}

int main(int argc, char **argv)
{
	uint64_t ev0, ev1;
	pid_t c;

	it_setup(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return 0;
	m = it_alloc(LEN, 1);
	ref = it_alloc(LEN, 0);
	it_fill(m, LEN, 41);
	memcpy(ref, m, LEN);
	it_evict_all();
	ev0 = it_stat("evicted_bytes");

	c = fork();
	if (c == 0)
		_exit(child_work());
	/* fork brought nothing back: the stored copy is shared */
	ev1 = it_stat("evicted_bytes");
	it_assert(ev1 == ev0, "fork restored memory: evicted %lu -> %lu",
		  (unsigned long)ev0, (unsigned long)ev1);
	wait_ok(c, "child");
	/* the child's writes are its own */
	it_assert(!memcmp(m, ref, LEN), "parent's copy changed");
	it_assert(it_stat("pool_bytes") == 0, "pool holds %lu bytes after all came back",
		  (unsigned long)it_stat("pool_bytes"));

	/* a child that execs (and one that just exits) lets go of its share */
	it_evict_all();
	c = fork();
	if (c == 0) {
		execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
		_exit(127);
	}
	wait_ok(c, "exec child");
	c = fork();
	if (c == 0)
		_exit(0);
	wait_ok(c, "exiting child");
	usleep(200000); /* the agent sees the hang-ups */
	it_assert(!memcmp(m, ref, LEN), "parent's copy changed after exec child");
	it_assert(it_stat("pool_bytes") == 0,
		  "children that exec'd or exited left %lu bytes in the pool",
		  (unsigned long)it_stat("pool_bytes"));
	printf("fork: copies correct, shared copy-on-write, nothing left behind\n");
	return 0;
}
