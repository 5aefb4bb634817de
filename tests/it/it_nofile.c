/* SPDX-License-Identifier: MIT */
/*
 * A program that lowers its RLIMIT_NOFILE (a sandbox; a daemon that then
 * closes "all" descriptors below it) still has its memory evicted and
 * read back right: the agent opens nothing to evict it (procmaps.c).
 * The child lowers its limit to 0, so that no descriptor can be made at
 * all, and checks what was evicted with mincore(), which needs none.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)

static size_t resident_pages(const void *p, size_t len)
{
	static unsigned char vec[LEN / 4096];
	size_t i, n = 0;

	if (mincore((void *)p, len, vec))
		return (size_t)-1;
	for (i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

/* exits 0, or 2 when nothing was evicted, 3 on a wrong byte */
static void child(int ready, int go)
{
	struct rlimit r;
	uint8_t *mem = it_alloc(LEN, 1);
	size_t left;
	char c = 'r';
	pid_t grandchild;
	int st;

	it_fill(mem, LEN, 41);
	getrlimit(RLIMIT_NOFILE, &r);
	r.rlim_cur = 0;
	if (setrlimit(RLIMIT_NOFILE, &r))
		_exit(4);
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(5);
	left = resident_pages(mem, LEN);
	printf("child: %zu of %zu pages resident after the eviction\n", left,
	       (size_t)(LEN / 4096));
	fflush(stdout);
	if (left > LEN / 4096 / 2)
		_exit(2);
	/* a fork with evicted memory: the link to the child needs
	 * descriptors the limit forbids */
	grandchild = fork();
	if (grandchild < 0)
		_exit(6);
	if (!grandchild)
		_exit(it_check(mem, LEN, 41) < 0 ? 0 : 3);
	if (waitpid(grandchild, &st, 0) != grandchild || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("child: its own child ended with status %#x\n", st);
		_exit(7);
	}
	_exit(it_check(mem, LEN, 41) < 0 ? 0 : 3);
}

int main(int argc, char **argv)
{
	int ready[2], go[2], st, waited;
	char out[4096], c;
	pid_t kid;

	it_setup(argc, argv);
	it_assert(!pipe(ready) && !pipe(go), "pipe: %s", strerror(errno));
	kid = fork();
	it_assert(kid >= 0, "fork: %s", strerror(errno));
	if (!kid)
		child(ready[1], go[0]);
	it_assert(read(ready[0], &c, 1) == 1, "the child did not get ready");
	st = it_ctl(out, sizeof(out), "evict %d --all", kid);
	printf("uzswapctl evict (exit %d): %s", st, out);
	it_assert(write(go[1], &c, 1) == 1, "write: %s", strerror(errno));
	for (waited = 0; !waitpid(kid, &st, WNOHANG); waited++) {
		if (waited == 600) {
			kill(kid, SIGKILL);
			it_fail("the child hung for 60 s reading its "
				"memory back");
		}
		usleep(100000);
	}
	it_assert(WIFEXITED(st), "the child died (status %#x)", st);
	it_assert(WEXITSTATUS(st) != 2, "a child with RLIMIT_NOFILE 0 kept its "
		  "memory: the eviction needed a new descriptor");
	it_assert(WEXITSTATUS(st) == 0, "the child failed (exit %d)",
		  WEXITSTATUS(st));
	printf("PASS\n");
	return 0;
}
