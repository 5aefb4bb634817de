/* SPDX-License-Identifier: MIT */
/*
 * A job in a memory cgroup whose limit is half what it fills, with no
 * kernel swap to fall back on: with automatic eviction (auto=on) the
 * daemon sees the cgroup near its limit and takes memory ahead of the
 * kernel, so the job finishes, every byte right, without the OOM
 * killer.  (Without uzswap the kernel can only reclaim page cache, and
 * the job is killed.)  Once at 20 MB/s, which the loop's polling of the
 * limit keeps up with, then at 100 MB/s, which only the usage
 * threshold's event does (memevents.c), in a cgroup made again at
 * the same path (a service's restart).  Root and the cgroup v1 memory
 * controller.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define V1 IT_MEMCG_V1
#define LIMIT (128 * IT_MB)
#define FILL (192 * IT_MB)
#define CHUNK (8 * IT_MB)

static char cg[256];

/* Removed whatever happened to the job (it is gone by then). */
static void cg_remove(void)
{
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_memlimit: could not remove %s: %s\n", cg,
			strerror(errno));
}

/* The job, in the cgroup: FILL at CHUNK / @pause_us, checked. */
static void job(unsigned pause_us)
{
	double t = it_cgroup_job(cg, FILL, pause_us);

	printf("the job filled %lu MB at %u MB/s in a %lu MB cgroup and read it "
	       "back in %.2f s (at most %llu MB charged): every byte right\n",
	       FILL >> 20, (unsigned)((CHUNK >> 20) * 1000000 / pause_us),
	       LIMIT >> 20, t,
	       (unsigned long long)(it_memcg_read(cg, "memory.max_usage_in_bytes") >> 20));
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	int st;
	pid_t c;

	it_need_memcg_v1();
	it_setup_config(argc, argv, IT_CONFIG_LIMIT_STEPS);
	it_timeout(180);
	/* the name it_setup removes, whatever happens to us */
	snprintf(cg, sizeof(cg), V1 "/uzswap-it-%d", getpid());
	atexit(cg_remove);
	for (int fast = 0; fast < 2; fast++) {
		/* 20 MB/s: the loop's look at the limit, every quarter
		 * interval, keeps up; 100 MB/s: only the usage threshold
		 * event does (without it, the job is killed).  The cgroup is
		 * made again at the same path for the second, as a service's
		 * restart does: its threshold must be set on the new one
		 * (the daemon once kept the old one's, and the job was
		 * killed in 5 of 8 runs) */
		it_assert(!fast || !rmdir(cg), "rmdir %s: %s", cg, strerror(errno));
		it_memcg_make(cg, LIMIT);
		c = fork();
		it_assert(c >= 0, "fork failed");
		if (!c)
			job(fast ? 80000 : 400000);
		it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
		it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL), "the job "
			  "filling at %d MB/s was killed (the OOM killer, in a %lu "
			  "MB cgroup)", fast ? 100 : 20, LIMIT >> 20);
		it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the job failed "
			  "(status %#x)", st);
	}
	return 0;
}
