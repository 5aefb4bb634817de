/* SPDX-License-Identifier: MIT */
/*
 * cgroup v1 has no PSI of its own; its memory.pressure_level events
 * stand in (memevents.c).  The client sits in a 64 MB v1 memory cgroup
 * with a process that re-reads a 192 MB file there: the cgroup's
 * reclaim struggles (a probe here counted thousands of "medium" events
 * in seconds) while the client's own memory stays far below the limit.
 * The reader stalls all the time, so the machine's PSI reaches even
 * auto-pressure=100 (seen here): the client is alone in a cgroup v2 of
 * its own, whose PSI (it never stalls) it is judged by instead, so
 * that only the v1 pressure level can make it back off.  The loop
 * first takes from the client; once the reader runs, the daemon hears
 * the cgroup's pressure level and the client backs off (AUTO pressure);
 * once the reader is gone it does not stay backed off.  Every byte of
 * the client's memory is checked at the end.  Root, the cgroup v1
 * memory controller and a cgroup v2 (for PSI) beside it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LIMIT (64 * IT_MB)
#define MEM (8 * IT_MB)
#define FILE_MB 192
#define IT_V2 "/sys/fs/cgroup/unified"

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=500\n"
	"auto-step=1\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n"
	"log-level=debug\n";
static char cg[256], file[256], v2[256], v2_home[4200];
static pid_t reader;
static pid_t owner;

/* Move @pid to cgroup v2 directory @dir; 0 or -1 */
static int v2_move(const char *dir, pid_t pid)
{
	char path[4300];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%d", (int)pid) > 0;
	return fclose(f) || !ok ? -1 : 0;
}

/* This process's cgroup v2 directory, from /proc/self/cgroup ("0::") */
static void v2_of_self(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");

	it_assert(f, "open /proc/self/cgroup: %s", strerror(errno));
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, IT_V2 "%s", line + 3);
		}
	fclose(f);
	it_assert(out[0], "no cgroup v2 line in /proc/self/cgroup");
}

static void reader_stop(void)
{
	if (reader <= 0)
		return;
	kill(-reader, SIGKILL);
	kill(reader, SIGKILL);
	waitpid(reader, NULL, 0);
	reader = 0;
}

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	reader_stop();
	if (v2[0]) {
		/* out of it, or it cannot be removed */
		v2_move(v2_home, getpid());
		if (rmdir(v2) && errno != ENOENT)
			fprintf(stderr, "it_pressurelevel: could not remove "
				"%s: %s\n", v2, strerror(errno));
	}
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_pressurelevel: could not remove %s: %s\n", cg,
			strerror(errno));
	if (file[0])
		unlink(file);
}

/* In the cgroup (inherited): write the file, then read it again and
 * again until killed, in a process group of its own */
static pid_t reader_start(void)
{
	pid_t c = fork();

	it_assert(c >= 0, "fork");
	if (c)
		return c;
	setpgid(0, 0);
	/* stalled, it must not count in the client's v2 cgroup */
	if (v2_move(v2_home, getpid()))
		_exit(4);
	it_exec_rereader(file, FILE_MB);
}

int main(int argc, char **argv)
{
	char state[32] = "";
	uint64_t taken;
	uint8_t *m;
	int i;

	it_need_memcg_v1();
	if (access(IT_V2 "/cgroup.procs", W_OK)) {
		printf("SKIP: no cgroup v2 at " IT_V2 " (its PSI keeps the "
		       "machine's out of the test)\n");
		return 77;
	}
	it_setup_config(argc, argv, config);
	it_timeout(180);
	owner = getpid();
	atexit(cleanup);
	v2_of_self(v2_home, sizeof(v2_home));
	snprintf(v2, sizeof(v2), IT_V2 "/uzswap-it-%d", getpid());
	it_assert(!mkdir(v2, 0755), "mkdir %s: %s", v2, strerror(errno));
	it_assert(!v2_move(v2, getpid()), "join %s: %s", v2, strerror(errno));
	snprintf(file, sizeof(file), "/var/tmp/uzswap-it-level-%d", getpid());
	snprintf(cg, sizeof(cg), IT_MEMCG_V1 "/uzswap-it-%d", getpid());
	it_memcg_make(cg, LIMIT);
	it_cgroup_join(cg);
	m = it_alloc(MEM, 1);
	it_fill(m, MEM, 21);

	/* the listener is set up at the client's first step in the cgroup */
	for (i = 0; i < 100 && !it_log_has("pressure level listener armed", NULL); i++)
		usleep(100000);
	if (it_log_has("no pressure level event", NULL)) {
		printf("SKIP: the kernel refused a memory.pressure_level "
		       "listener (see the log)\n");
		return 77;
	}
	it_assert(it_log_has("pressure level listener armed", NULL),
		  "no pressure level listener on the client's cgroup in 10 s");
	/* the loop takes while nothing presses */
	for (i = 0; i < 100 && !it_stat("evicted_bytes"); i++)
		usleep(100000);
	it_assert(it_stat("evicted_bytes"), "the loop took nothing in 10 s "
		  "(AUTO '%s')", (it_auto_state(getpid(), state, sizeof(state)), state));
	it_assert(!it_log_has("memory pressure level event", NULL),
		  "a pressure level event before the reader ran");

	reader = reader_start();
	it_assert(it_wait_auto_state("pressure", state, sizeof(state), 60),
		  "with the cgroup's reclaim struggling, AUTO '%s', not pressure",
		  state);
	it_assert(it_log_has("memory pressure level event", NULL),
		  "AUTO pressure without a pressure level event");
	{
		/* judged by its own v2 cgroup's PSI, not the machine's */
		char line[256];

		it_assert(it_pressure_own(line, sizeof(line)),
			  "PRESSURE is the machine's: %s", line);
	}
	it_assert(!it_log_has("memory pressure trigger fired: cgroup", NULL),
		  "the client's own cgroup v2 trigger fired: the test cannot "
		  "tell what made it back off");
	printf("the cgroup's pressure level reached the loop: AUTO pressure\n");
	/* and it holds while the reader goes on */
	usleep(1500000);
	it_auto_state(getpid(), state, sizeof(state));
	it_assert(!strcmp(state, "pressure"), "the reader goes on, AUTO '%s'", state);

	reader_stop();
	taken = it_stat("evicted_bytes");
	/* the back-off ends once the events stop (taking again, or
	 * nothing left to take) */
	for (i = 0; i < 600 && !strcmp(state, "pressure"); i++) {
		usleep(100000);
		it_auto_state(getpid(), state, sizeof(state));
	}
	it_assert(strcmp(state, "pressure"), "the reader gone 60 s, AUTO still "
		  "pressure");
	printf("the reader gone, AUTO %s after %.1f s (%llu bytes taken before)\n",
	       state, i / 10.0, (unsigned long long)taken);
	it_assert(it_check(m, MEM, 21) < 0, "the client's memory is wrong");
	printf("PASS: a v1 cgroup's memory.pressure_level backs its clients off\n");
	return 0;
}
