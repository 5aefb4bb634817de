/* SPDX-License-Identifier: MIT */
/*
 * Restores look at the memory cgroup's limit first (limitguard.c): a
 * job that reads back more than its cgroup has room for, with no
 * automatic loop to take anything ahead of it and no kernel swap, is
 * not OOM-killed: near the limit its agent takes cold memory out before
 * it brings any back, as the kernel's reclaim would.  sort(1) was killed
 * so in a 1 GiB cgroup (the kernel's report named the agent's
 * UFFDIO_COPY).  Again with the agent's threads alone moved to another
 * memory cgroup: what a restore brings back is charged to the process's
 * (its first thread's), and the guard looked at the agent thread's own
 * cgroup (review probe p6_cgmove, agentonly: killed).  Again in a cgroup
 * of no limit inside the limited one, as a service in a slice with a
 * limit is: the guard looked at its own level only (killed).  Root and
 * the cgroup v1 memory controller.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LIMIT (128 * IT_MB)
#define A_LEN (80 * IT_MB)
#define B_LEN (48 * IT_MB)

static char cg[256], elsewhere[256], inner[300];

static void cg_remove(void)
{
	if (inner[0] && rmdir(inner) && errno != ENOENT)
		fprintf(stderr, "it_memguard: could not remove %s: %s\n", inner,
			strerror(errno));
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_memguard: could not remove %s: %s\n", cg,
			strerror(errno));
	if (elsewhere[0] && rmdir(elsewhere) && errno != ENOENT)
		fprintf(stderr, "it_memguard: could not remove %s: %s\n",
			elsewhere, strerror(errno));
}

/* Move our agent's threads (and them only) to memory cgroup @to. */
static void move_agent_threads(const char *to)
{
	it_assert(it_agent_threads_into(0, to), "no agent thread found");
}

static void fill(uint64_t *m, size_t len, size_t from)
{
	for (size_t w = 0; w < len / 8; w++)
		m[w] = it_text_word(from + w);
}

static void check(const uint64_t *m, size_t len, size_t from, const char *what)
{
	for (size_t w = 0; w < len / 8; w++)
		it_assert(m[w] == it_text_word(from + w), "%s: wrong byte in "
			  "word %zu", what, w);
}

/* In the cgroup: A evicted, B filled, then A, B and A again read back
 * whole: each needs room the other holds. */
static void job(int agent_elsewhere, const char *where)
{
	uint64_t *a, *b;

	it_cgroup_join(where);
	if (agent_elsewhere)
		move_agent_threads(elsewhere);
	a = it_alloc(A_LEN, 1);
	fill(a, A_LEN, 0);
	it_evict_all();
	b = it_alloc(B_LEN, 1);
	fill(b, B_LEN, A_LEN / 8);
	check(a, A_LEN, 0, "A");
	/* room was made (uzswapctl stats: GUARD) */
	it_assert(it_stat("guard_blocks") > 0, "A read back whole in a cgroup "
		  "without room for it, yet GUARD is 0");
	check(b, B_LEN, A_LEN / 8, "B");
	check(a, A_LEN, 0, "A again");
	printf("%lu MB evicted, %lu MB filled, then all read back twice in a "
	       "%lu MB cgroup%s%s: every byte right\n", A_LEN >> 20, B_LEN >> 20,
	       LIMIT >> 20, agent_elsewhere ? ", the agent's threads in "
	       "another" : "", where == inner ? " (its parent's limit)" : "");
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t c;
	int st;

	it_need_memcg_v1();
	it_setup(argc, argv);
	it_watchdog(180, "it_memguard");
	snprintf(cg, sizeof(cg), IT_MEMCG_V1 "/uzswap-it-%d", getpid());
	snprintf(elsewhere, sizeof(elsewhere), IT_MEMCG_V1 "/uzswap-it-%d-agent",
		 getpid());
	atexit(cg_remove);
	it_memcg_make(cg, LIMIT);
	it_assert(!mkdir(elsewhere, 0755), "mkdir %s: %s", elsewhere,
		  strerror(errno));
	snprintf(inner, sizeof(inner), "%s/inner", cg);
	it_assert(!mkdir(inner, 0755), "mkdir %s: %s", inner, strerror(errno));
	for (int run = 0; run < 3; run++) {
		int moved = run == 1;

		c = fork();
		it_assert(c >= 0, "fork");
		if (!c)
			job(moved, run == 2 ? inner : cg);
		it_assert(waitpid(c, &st, 0) == c, "waitpid");
		it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL), "the job "
			  "was killed (the OOM killer, in a %lu MB cgroup%s)",
			  LIMIT >> 20, moved ? ", its agent's threads in another" :
			  run == 2 ? ", its parent's" : "");
		it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the job failed "
			  "(status %#x)", st);
	}
	return 0;
}
