/* SPDX-License-Identifier: MIT */
/*
 * A program that lowers its resource limits (a sandbox; a daemon that
 * then closes "all" descriptors below RLIMIT_NOFILE; `ulimit -f`) still
 * has its memory evicted, read back right and forked, and gets no signal
 * it did not ask for:
 * - RLIMIT_NOFILE 0: no descriptor can be made at all (the agent's poll
 *   and its scan's /proc files, fds.c and procmaps.c);
 * - RLIMIT_FSIZE 1 MB, lowered while running: the pool is a file, and
 *   pwrite refuses past the limit (store.c);
 * - RLIMIT_SIGPENDING 0: the application's threads wake the agent thread
 *   with a signal, which then finds no room (doorbell.c);
 * - RLIMIT_FSIZE inherited across exec: the agent sizes its pool to fit
 *   (256 MB), or stays out when none fits (1 MB), since growing a file
 *   past the limit kills with SIGXFSZ (agent.c).
 * Each child checks what was evicted with mincore(), which needs no
 * descriptor, and counts SIGXFSZ.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)

/* the child's exits */
enum { OK, KEPT = 2, WRONG, NOLIMIT, NOPIPE, NOFORK, GRANDCHILD, SIGNALLED };

static volatile sig_atomic_t xfsz;

static void on_xfsz(int sig)
{
	(void)sig;
	xfsz++;
}

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

/* VmData now (kB) */
static rlim_t data_now(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmData: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (rlim_t)kb << 10;
}

static int lower(int resource, rlim_t to)
{
	struct rlimit r;

	getrlimit(resource, &r);
	r.rlim_cur = to;
	return setrlimit(resource, &r);
}

/* Under its limit already: fill, be evicted, read back, fork. */
static void child(int ready, int go)
{
	uint8_t *mem = it_alloc(LEN, 1);
	size_t left;
	char c = 'r';
	pid_t grandchild;
	int st, i;
	double t0;

	signal(SIGXFSZ, on_xfsz);
	it_fill(mem, LEN, 41);
	if (getenv("IT_DATA_LIMIT") && lower(RLIMIT_DATA, data_now() + (4 << 20)))
		_exit(NOLIMIT);
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(NOPIPE);
	left = resident_pages(mem, LEN);
	printf("child: %zu of %zu pages resident after the eviction\n", left,
	       (size_t)(LEN / 4096));
	fflush(stdout);
	if (left > LEN / 4096 / 2 && !getenv("IT_NOT_EVICTED"))
		_exit(KEPT);
	t0 = it_now_s();
	for (i = 0; i < 5; i++) { /* forks ring the agent (doorbell.c) */
		grandchild = fork();
		if (grandchild < 0)
			_exit(NOFORK);
		if (!grandchild)
			_exit(0);
		waitpid(grandchild, NULL, 0);
	}
	printf("child: 5 forks took %.3f s\n", it_now_s() - t0);
	fflush(stdout);
	grandchild = fork();
	if (grandchild < 0)
		_exit(NOFORK);
	if (!grandchild)
		_exit(it_check(mem, LEN, 41) < 0 ? OK : WRONG);
	if (waitpid(grandchild, &st, 0) != grandchild || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("child: its own child ended with status %#x\n", st);
		_exit(GRANDCHILD);
	}
	if (it_check(mem, LEN, 41) >= 0)
		_exit(WRONG);
	_exit(xfsz ? SIGNALLED : OK);
}

static void run(const char *what, int resource, rlim_t to, int by_exec,
		int evicted, char *self)
{
	int ready[2], go[2], st, waited;
	char out[4096], c;
	pid_t kid;

	printf("--- %s\n", what);
	fflush(stdout);
	it_assert(!pipe(ready) && !pipe(go), "pipe: %s", strerror(errno));
	kid = fork();
	it_assert(kid >= 0, "fork: %s", strerror(errno));
	if (!kid) {
		char r[16], g[16];

		if (resource == RLIMIT_DATA) /* the child's own, once it has it */
			setenv("IT_DATA_LIMIT", "1", 1);
		else if (lower(resource, to))
			_exit(NOLIMIT);
		if (!evicted) /* said to the child, which checks all else */
			setenv("IT_NOT_EVICTED", "1", 1);
		if (!by_exec)
			child(ready[1], go[0]);
		/* the agent starts under the limit */
		snprintf(r, sizeof(r), "%d", ready[1]);
		snprintf(g, sizeof(g), "%d", go[0]);
		execl(self, self, "--child", r, g, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(kid, &st, 0);
		it_fail("%s: the child ended before it was ready (status %#x)",
			what, st);
	}
	st = it_ctl(out, sizeof(out), "evict %d --all", kid);
	printf("uzswapctl evict (exit %d): %s%s", st, out,
	       *out && out[strlen(out) - 1] == '\n' ? "" : "\n");
	it_assert(write(go[1], &c, 1) == 1, "write: %s", strerror(errno));
	for (waited = 0; !waitpid(kid, &st, WNOHANG); waited++) {
		if (waited == 600) {
			kill(kid, SIGKILL);
			it_fail("%s: the child hung for 60 s reading its memory "
				"back", what);
		}
		usleep(100000);
	}
	it_assert(WIFEXITED(st), "%s: the child died (status %#x)", what, st);
	it_assert(WEXITSTATUS(st) != KEPT, "%s: the child kept its memory "
		  "(not evicted)", what);
	it_assert(WEXITSTATUS(st) != SIGNALLED, "%s: the child got SIGXFSZ",
		  what);
	it_assert(WEXITSTATUS(st) == OK, "%s: the child failed (exit %d)", what,
		  WEXITSTATUS(st));
	close(ready[0]);
	close(go[1]);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--child"))
		child(atoi(argv[2]), atoi(argv[3]));
	it_setup(argc, argv);
	run("RLIMIT_NOFILE lowered to 0", RLIMIT_NOFILE, 0, 0, 1, argv[0]);
	run("RLIMIT_FSIZE lowered to 1 MB", RLIMIT_FSIZE, 1 << 20, 0, 1, argv[0]);
	run("RLIMIT_SIGPENDING 0", RLIMIT_SIGPENDING, 0, 0, 1, argv[0]);
	run("RLIMIT_DATA 4 MB above what is mapped", RLIMIT_DATA, 0, 0, 1,
	    argv[0]);
	run("RLIMIT_FSIZE of 256 MB from the start", RLIMIT_FSIZE, 256 << 20,
	    1, 1, argv[0]);
	run("RLIMIT_FSIZE of 1 MB from the start (no pool fits: the agent "
	    "stays out)", RLIMIT_FSIZE, 1 << 20, 1, 0, argv[0]);
	printf("PASS\n");
	return 0;
}
