/* SPDX-License-Identifier: MIT */
/*
 * Real memory stall (a process re-reading a 96 MB file it wrote, in a
 * 16 MB memory cgroup of its own: reclaim counts in PSI) fires the
 * daemon's PSI trigger, which reaches its loop (a trigger's event is
 * cleared by any poll of it: sat in a nested epoll set, the daemon's
 * poll of that set ate it, and the loop never heard), and the client
 * the loop was taking from backs off (AUTO pressure).  Root, the cgroup
 * v1 memory controller and PSI triggers.
 *
 * Built again as it_cgpressure (IT_CGROUP_V2): the client and the
 * staller in a cgroup v2 of their own (beside v1, at IT_V2), whose
 * memory.pressure the client is judged by; the daemon's trigger on that
 * file fires (not only the machine's) and the client backs off, its
 * PRESSURE its cgroup's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define FILE_MB 96
#define IT_V2 "/sys/fs/cgroup/unified"
#ifdef IT_CGROUP_V2
#define FIRED "memory pressure trigger fired: cgroup"
#else
#define FIRED "memory pressure trigger fired"
#endif

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=500\n"
	"auto-step=1\n"
	"auto-pressure=1\n"
	"auto-refaults=100\n"
	"log-level=debug\n";
static char cg[256], file[256], v2[256];
static pid_t staller;

static void cleanup(void)
{
	if (v2[0]) {
		char procs[300], pid[32];
		FILE *f;

		/* out of it, or it cannot be removed */
		snprintf(procs, sizeof(procs), IT_V2 "/cgroup.procs");
		snprintf(pid, sizeof(pid), "%d", getpid());
		f = fopen(procs, "w");
		if (f) {
			fputs(pid, f);
			fclose(f);
		}
	}
	if (staller > 0) {
		kill(-staller, SIGKILL);
		kill(staller, SIGKILL);
		waitpid(staller, NULL, 0);
		staller = 0;
	}
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_pressure: could not remove %s: %s\n", cg,
			strerror(errno));
	if (v2[0] && rmdir(v2) && errno != ENOENT)
		fprintf(stderr, "it_pressure: could not remove %s: %s\n", v2,
			strerror(errno));
	if (file[0])
		unlink(file);
}

/* In the small cgroup, when told: write the file (its page cache is
 * charged there, not to the test's cgroup), then read it again and
 * again until killed (a process group of its own: its shell's children
 * go with it) */
static void stall(int go)
{
	char pid[32], b;

	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(cg + strlen(cg), sizeof(cg) - strlen(cg), "/cgroup.procs");
	it_write_file(cg, pid);
	if (read(go, &b, 1) != 1)
		_exit(0);
	it_exec_rereader(file, FILE_MB);
}

int main(int argc, char **argv)
{
	char state[32] = "", v[32];
	struct timespec t0, t1;
	uint8_t *m;
	int go[2], fired = 0;

	it_need_memcg_v1();
	it_setup_config(argc, argv, config);
	it_timeout(120);
	atexit(cleanup);
	if (it_log_has("no memory pressure trigger", NULL)) {
		printf("SKIP: the kernel refused a PSI trigger (see the log)\n");
		return 77;
	}
	snprintf(file, sizeof(file), "/var/tmp/uzswap-it-pressure-%d", getpid());
	snprintf(cg, sizeof(cg), IT_MEMCG_V1 "/uzswap-it-%d", getpid());
	it_assert(!mkdir(cg, 0755), "mkdir %s: %s", cg, strerror(errno));
#ifdef IT_CGROUP_V2
	{
		char procs[300], pid[32];

		snprintf(procs, sizeof(procs), IT_V2 "/cgroup.procs");
		if (access(procs, W_OK)) {
			printf("SKIP: no cgroup v2 at " IT_V2 "\n");
			return 77;
		}
		snprintf(v2, sizeof(v2), IT_V2 "/uzswap-it-%d", getpid());
		it_assert(!mkdir(v2, 0755), "mkdir %s: %s", v2, strerror(errno));
		/* this process (the client), and the staller forked below */
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", v2);
		snprintf(pid, sizeof(pid), "%d", getpid());
		it_write_file(procs, pid);
	}
#endif
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg);
		snprintf(v, sizeof(v), "%lu", 16 * IT_MB);
		it_write_file(path, v);
	}
	/* the staller first: memory shared with a child after a fork
	 * could not be taken */
	it_assert(!pipe(go), "pipe");
	staller = fork();
	it_assert(staller >= 0, "fork");
	if (!staller) {
		setpgid(0, 0);
		close(go[1]);
		stall(go[0]);
	}
	close(go[0]);
	/* memory the loop takes from, a step a time */
	m = it_alloc(FILE_MB * IT_MB, 1);
	it_fill(m, FILE_MB * IT_MB, 6);
	/* a step has taken something (unless pressure from elsewhere
	 * holds it back already: the trigger is what is tested here) */
	for (int i = 0; i < 100 && !it_stat("evicted_bytes"); i++)
		usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	it_assert(write(go[1], "x", 1) == 1, "start the staller");
	/* the trigger reaches the loop (the stall goes on, so it fires
	 * every window), and the client backs off */
	for (int i = 0; i < 600 && (!fired || strcmp(state, "pressure")); i++) {
		int st;

		usleep(100000);
		/* no stall without it (killed by the OOM killer, before its
		 * shell was spared, in three CI runs) */
		if (waitpid(staller, &st, WNOHANG) == staller) {
			staller = 0;
			it_fail("the staller ended (%s %d) before the trigger reached "
				"the loop", WIFSIGNALED(st) ? "signal" : "exit",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		fired = fired || it_log_has(FIRED, NULL);
#ifdef IT_CGROUP_V2
		if (it_log_has(": no pressure trigger (", NULL)) {
			printf("SKIP: the kernel refused a PSI trigger on the "
			       "cgroup's memory.pressure (see the log)\n");
			return 77;
		}
#endif
		it_auto_state(getpid(), state, sizeof(state));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	it_assert(fired, "the PSI trigger never reached the loop (AUTO '%s')", state);
	it_assert(!strcmp(state, "pressure"), "under stall, AUTO '%s', not pressure",
		  state);
	printf("under real memory stall the trigger fired and the loop backed off "
	       "(AUTO pressure) %.1f s after the stall began\n",
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
#ifdef IT_CGROUP_V2
	{
		/* judged by its own cgroup's pressure, not the machine's */
		char line[256];

		it_assert(it_pressure_own(line, sizeof(line)),
			  "PRESSURE is not its cgroup's: %s", line);
		printf("its PRESSURE is its cgroup v2's: %s\n", line);
	}
#endif
	cleanup();
	{
		long bad = it_check(m, FILE_MB * IT_MB, 6);

		it_assert(bad < 0, "wrong byte at offset %ld", bad);
	}
	printf("every byte right\n");
	return 0;
}
