/* SPDX-License-Identifier: MIT */
/* The pool's memory is charged to the application's own memory cgroup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define LEN (64 * IT_MB)
#define V1 IT_MEMCG_V1

static char cg[256];

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	it_assert(f && fscanf(f, "%ld", &v) == 1, "read %s", path);
	fclose(f);
	return v;
}

/* Leave the test cgroup and remove it, also when the test fails. */
static void cg_remove(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	it_write_file(V1 "/cgroup.procs", pid);
	rmdir(cg);
}

int main(int argc, char **argv)
{
	char path[300], pid[32];
	long before, after, freed, pool;
	uint8_t *m;

	it_need_memcg_v1();
	it_setup(argc, argv);
	snprintf(cg, sizeof(cg), V1 "/uzswap-it-%d", getpid());
	it_assert(!mkdir(cg, 0755), "mkdir %s: %s", cg, strerror(errno));
	atexit(cg_remove);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	it_write_file(path, pid);

	/* memory touched from now on is charged to the new cgroup */
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 61);
	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", cg);
	before = read_long(path);
	it_evict_all();
	after = read_long(path);
	pool = it_stat("pool_bytes");
	freed = before - after;
	printf("cgroup usage %ld -> %ld kB; evicted %d MB, pool %ld kB\n",
	       before >> 10, after >> 10, (int)(LEN >> 20), pool >> 10);
	it_assert(pool > 0, "nothing in the pool");
	/* what left the cgroup is the application's pages less the pool
	 * that replaced them: the pool is charged here, not elsewhere */
	it_assert(freed <= (long)LEN - pool * 9 / 10,
		  "cgroup freed %ld kB: the pool (%ld kB) is not charged to it",
		  freed >> 10, pool >> 10);
	it_assert(freed >= (long)LEN / 2 - pool, "cgroup usage did not fall");
	it_assert(it_check(m, LEN, 61) < 0, "data differs after eviction");
	return 0;
}
