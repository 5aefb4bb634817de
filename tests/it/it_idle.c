/* SPDX-License-Identifier: MIT */
/*
 * An idle process under the agent is left asleep (issue 13).  With
 * nothing to do, the agent thread counts the memory it manages every
 * 2 s while that changes and half as often each time it does not, down
 * to once a minute; the daemon asks for a count when the process grows.
 *  - 64 MB evicted, then 15 s idle, the automatic loop on (a look every
 *    500 ms, a pause of 5 s after a step that found nothing): over the
 *    next 25 s the agent's threads wake at most 4 times (every second
 *    before: 25 times; the daemon's steps finding nothing, every 5 s);
 *  - moved into a cgroup whose target it is under (looked at every
 *    500 ms, nothing taken): it grows by 128 MB, and within 10 s the
 *    managed figure says so (its agent's own count would come 15-30 s
 *    later);
 *  - every byte is right.
 * Root and the cgroup v1 memory controller.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "protocol.h"

#define UNIT "uzswap-it-idle.scope"
#define EVICTED (64 * IT_MB)
#define GROWTH (128 * IT_MB)
#define SETTLE_S 15
#define WINDOW_S 25
#define MAX_WAKES 4
#define SEEN_WITHIN_S 10

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=500\n"
	"[unit " UNIT "]\n"
	"auto=on\n"
	"target=4G\n";
/* The value of "@key:" in /proc/self/task/@tid/status, or 0. */
static unsigned long long task_status(const char *tid, const char *key)
{
	char path[300], line[256];
	unsigned long long v = 0;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "r");
	if (!f)
		return 0; /* ended meanwhile */
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* How many times the agent's threads have gone to sleep, in all. */
static unsigned long long agent_sleeps(unsigned *threads)
{
	unsigned long long sum = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	it_assert(d, "opendir /proc/self/task: %s", strerror(errno));
	*threads = 0;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, UZ_AGENT_THREAD_NAME))
			continue;
		++*threads;
		sum += task_status(e->d_name, "voluntary_ctxt_switches");
	}
	closedir(d);
	return sum;
}

int main(int argc, char **argv)
{
	unsigned long long before, after;
	unsigned threads;
	uint64_t managed0, managed;
	uint8_t *cold, *more;
	const char *top, *unit;
	char procs[600], pid[32];
	double t0;

	it_need_memcg_v1();
	it_setup_config(argc, argv, config);
	it_timeout(120);
	/* in the unit's parent, of no section, for now */
	unit = it_unit_cgroup(UNIT, &top);
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", top);
	it_write_file(procs, pid);

	cold = it_alloc(EVICTED, 1);
	it_fill(cold, EVICTED, 5);
	it_evict_all();

	/* idle: no fork (uzswapctl), nothing touched */
	sleep(SETTLE_S);
	before = agent_sleeps(&threads);
	it_assert(threads > 0, "no thread named %s", UZ_AGENT_THREAD_NAME);
	sleep(WINDOW_S);
	after = agent_sleeps(&threads);
	printf("the agent's %u threads woke %llu times in %d s of idling\n",
	       threads, after - before, WINDOW_S);
	it_assert(after - before <= MAX_WAKES,
		  "the agent's threads woke %llu times in %d s of idling (at "
		  "most %d)", after - before, WINDOW_S, MAX_WAKES);

	/* it grows, its agent idle for 40 s: the daemon asks for a count */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", unit);
	it_write_file(procs, pid);
	usleep(600000); /* a look there: nothing to take */
	managed0 = it_stat("registered_bytes");
	t0 = it_now_s();
	more = it_alloc(GROWTH, 1);
	it_fill(more, GROWTH, 6);
	do {
		managed = it_stat("registered_bytes");
		if (managed >= managed0 + GROWTH)
			break;
		usleep(200000);
	} while (it_now_s() - t0 < SEEN_WITHIN_S);
	printf("after growing by %lu MB: %llu MB managed, %llu MB before, "
	       "%.1f s after the growth began\n", GROWTH >> 20,
	       (unsigned long long)managed >> 20,
	       (unsigned long long)managed0 >> 20, it_now_s() - t0);
	it_assert(managed >= managed0 + GROWTH,
		  "%.0f s after growing by %lu MB, %llu MB managed (%llu MB "
		  "before): the growth was not counted", it_now_s() - t0,
		  GROWTH >> 20, (unsigned long long)managed >> 20,
		  (unsigned long long)managed0 >> 20);

	it_assert(it_check(cold, EVICTED, 5) < 0, "wrong byte in the evicted memory");
	it_assert(it_check(more, GROWTH, 6) < 0, "wrong byte in the new memory");
	printf("every byte right\n");
	return 0;
}
