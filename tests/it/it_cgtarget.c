/* SPDX-License-Identifier: MIT */
/*
 * A [unit NAME] section of uzswapd.conf gives the clients in that
 * memory cgroup settings of their own, over [daemon]'s:
 *  - [daemon] says auto=off, the section auto=on with target=48M: the
 *    job in the unit's cgroup is taken down to about 48 MB charged and
 *    held there (AUTO "target"), not emptied; a client outside it (in
 *    a cgroup whose name has a terminal's escapes) keeps everything;
 *  - the job grows by 32 MB: taken back down to the target;
 *  - uzswapctl stats --cgroups and -o +CGROUP,TARGET show it, and
 *    the escapes as '?';
 *  - a reload makes the target 25 % of a limit set meanwhile on the
 *    parent cgroup: the daemon works it out (128 MB of 512 MB);
 *  - the cgroup goes away under the job (moved out, rmdir): no section
 *    matches any more, AUTO says off, the daemon goes on;
 *  - every byte of both is right.
 * Root and the cgroup v1 memory controller.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define V1 IT_MEMCG_V1
#define UNIT "uzswap-it-target.scope"
#define TARGET (48 * IT_MB)
#define SLACK (8 * IT_MB) /* a block's rounding, the arena, page cache */
#define JOB (128 * IT_MB)
#define MORE (32 * IT_MB)
#define OTHER (64 * IT_MB)

static const char config[] =
	"[daemon]\n"
	"auto=off\n"
	"auto-interval=500\n"
	"[unit " UNIT "]\n"
	"auto=on\n"
	"target=48M\n"
	"auto-step=25\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n";
static const char *top, *unit;
static char odd[320];
static pid_t other = -1;

/* The other client and its cgroup gone, whatever happened (at exit,
 * before it_unit_cgroup's are) */
static void cg_remove(void)
{
	if (other > 0) {
		kill(other, SIGKILL);
		waitpid(other, NULL, 0);
		other = -1;
	}
	if (odd[0] && rmdir(odd) && errno != ENOENT)
		fprintf(stderr, "it_cgtarget: could not remove the odd cgroup: %s\n",
			strerror(errno));
}

/* Page @i's words: its number, then the same byte: about 50x smaller
 * compressed, so that the arena (charged to the cgroup too) stays small */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len / 4096; i++) {
		memset(p + i * 4096, 0x5a ^ seed, 4096);
		((uint64_t *)(p + i * 4096))[0] = i * 31 + seed;
	}
}

static void check(const uint8_t *p, size_t len, unsigned seed, const char *what)
{
	for (size_t i = 0; i < len / 4096; i++) {
		const uint8_t *pg = p + i * 4096;

		it_assert(((const uint64_t *)pg)[0] == i * 31 + seed &&
				  pg[8] == (0x5a ^ seed) && pg[4095] == (0x5a ^ seed),
			  "%s: wrong byte in page %zu", what, i);
	}
}

static uint64_t read_u64(const char *dir, const char *name)
{
	char path[400];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	it_assert(f && fscanf(f, "%llu", &v) == 1, "read %s", path);
	fclose(f);
	return v;
}

/* Wait up to 30 s for the unit's usage to come down to the target, and
 * AUTO to say "target"; the seconds it took. */
static double wait_target(const char *what)
{
	double t0 = it_now_s();
	uint64_t use;
	char state[32] = "";

	do {
		use = read_u64(unit, "memory.usage_in_bytes");
		it_auto_state(getpid(), state, sizeof(state));
		if (use <= TARGET + SLACK && !strcmp(state, "target"))
			return it_now_s() - t0;
		usleep(100000);
	} while (it_now_s() - t0 < 30);
	it_fail("%s: after 30 s the cgroup uses %llu MB (target %lu MB), AUTO "
		"'%s'", what, (unsigned long long)(use >> 20), TARGET >> 20, state);
}

/* The other client: in a cgroup no section names, whose name has a
 * terminal's escape sequence and bytes that are not ASCII */
static pid_t other_client(int *go)
{
	int p[2];
	pid_t c;

	it_assert(!pipe(p), "pipe");
	c = fork();
	it_assert(c >= 0, "fork");
	if (!c) {
		uint8_t *m;
		char b;

		char procs[400];

		close(p[1]);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", odd);
		it_write_file(procs, "0");
		m = it_alloc(OTHER, 1);
		fill(m, OTHER, 7);
		/* parked until told to check */
		if (read(p[0], &b, 1) < 0)
			_exit(3);
		check(m, OTHER, 7, "the client outside the unit");
		_exit(0);
	}
	close(p[0]);
	*go = p[1];
	return c;
}

/* stats -r -n -o @cols for @pid: its line, or a failure */
static void stats_line(pid_t pid, const char *cols, char *line, size_t len)
{
	char out[1 << 14], *l, *save;

	it_assert(!it_ctl(out, sizeof(out), "stats -r -n -b -o pid,%s", cols),
		  "uzswapctl stats failed");
	for (l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (atoi(l) == pid) {
			snprintf(line, len, "%s", l);
			return;
		}
	it_fail("no stats line for pid %d", (int)pid);
}

int main(int argc, char **argv)
{
	char line[512], out[1 << 14], state[32], pid[32], *reloaded;
	uint64_t evicted, evicted2, want;
	uint8_t *job, *more;
	double secs;
	int go, st;

	it_need_memcg_v1();
	it_setup_config(argc, argv, config);
	it_timeout(170);
	unit = it_unit_cgroup(UNIT, &top);
	atexit(cg_remove);

	snprintf(odd, sizeof(odd), "%s/odd\033]0;owned\007\033[2K\303\251.scope", top);
	it_assert(!mkdir(odd, 0755), "mkdir the odd cgroup: %s", strerror(errno));
	other = other_client(&go);
	job = it_alloc(JOB, 1);
	fill(job, JOB, 1);
	secs = wait_target("the job");
	evicted = it_stat("evicted_bytes");
	it_assert(evicted >= JOB / 2 && evicted <= JOB - 24 * IT_MB,
		  "the job: %llu MB evicted of %lu: not taken down to the target "
		  "and held there", (unsigned long long)(evicted >> 20), JOB >> 20);
	printf("job: taken down to its 48 MB target in %.1f s (%llu MB of %lu "
	       "evicted), held there (AUTO target)\n", secs,
	       (unsigned long long)(evicted >> 20), JOB >> 20);
	it_auto_state(other, state, sizeof(state));
	stats_line(other, "evicted", line, sizeof(line));
	it_assert(!strcmp(state, "off") && strtoull(strchr(line, ' '), NULL, 10) == 0,
		  "the client outside the unit: AUTO '%s', evicted '%s'", state, line);
	printf("the client outside the unit ([daemon] auto=off): nothing taken\n");

	more = it_alloc(MORE, 1);
	fill(more, MORE, 2);
	secs = wait_target("the job grown by 32 MB");
	evicted2 = it_stat("evicted_bytes");
	it_assert(evicted2 >= evicted + MORE / 2, "grown by 32 MB: only %llu MB "
		  "more taken", (unsigned long long)((evicted2 - evicted) >> 20));
	printf("job grown by 32 MB: back at its target in %.1f s\n", secs);

	it_assert(!it_ctl(out, sizeof(out), "stats --cgroups"), "stats --cgroups failed");
	it_assert(strstr(out, UNIT) && strstr(out, " 48M ") && strstr(out, "target"),
		  "stats --cgroups: no line for the unit with its target: %s", out);
	stats_line(getpid(), "cgroup,target,auto", line, sizeof(line));
	it_assert(strstr(line, "/" UNIT) && strstr(line, " 50331648 ") &&
		  strstr(line, "target"), "stats -o cgroup,target,auto: '%s'", line);
	it_assert(!it_ctl(out, sizeof(out), "top -n 2 -d 0.5"), "uzswapctl top failed");
	{
		char *l = strstr(out, "CGROUP"), *u = l ? strstr(l, UNIT) : NULL;

		it_assert(u && strstr(u, " 48M ") && strstr(u, "target"),
			  "uzswapctl top: no cgroup line for the unit: %s", out);
	}
	for (const char *c = out; *c; c++)
		it_assert((*c >= 0x20 && *c < 0x7f) || *c == '\n',
			  "uzswapctl top printed byte %#x of a cgroup's name",
			  (unsigned char)*c);
	it_assert(!it_ctl(out, sizeof(out), "stats --cgroups --json"), "stats -g -J");
	it_assert(strstr(out, "odd?]0;owned??[2K??.scope"),
		  "the odd cgroup's name, printable: %s", out);
	for (const char *c = out; *c; c++)
		it_assert((*c >= 0x20 && *c < 0x7f) || *c == '\n',
			  "uzswapctl stats printed byte %#x of a cgroup's name",
			  (unsigned char)*c);
	printf("uzswapctl stats --cgroups, -o cgroup,target and top show it, "
	       "a cgroup's escapes as '?'\n");

	/* a reload: 25 % of a limit set meanwhile on the parent (a slice's
	 * limit binds the services in it, which have none of their own;
	 * only the unit's own was once looked at) */
	snprintf(line, sizeof(line), "%s/memory.limit_in_bytes", top);
	it_write_file(line, "536870912");
	reloaded = strdup(config);
	it_assert(reloaded && strstr(reloaded, "target=48M"), "config text");
	memcpy(strstr(reloaded, "target=48M"), "target=25%", 10);
	it_reload(reloaded);
	want = 512 * IT_MB / 100 * 25;
	for (int i = 0;; i++) {
		stats_line(getpid(), "target", line, sizeof(line));
		if (strtoull(strchr(line, ' '), NULL, 10) == want)
			break;
		it_assert(i < 100, "after a reload with target=25%% of 512 MB: "
			  "'%s', not %llu", line, (unsigned long long)want);
		usleep(100000);
	}
	printf("reloaded with target=25%%: %llu bytes of its parent's 512 MB limit\n",
	       (unsigned long long)want);

	/* the cgroup goes away under the job */
	snprintf(line, sizeof(line), "%s/cgroup.procs", top);
	snprintf(pid, sizeof(pid), "%d", getpid());
	it_write_file(line, pid);
	it_assert(!rmdir(unit), "rmdir %s: %s", unit, strerror(errno));
	for (int i = 0;; i++) {
		it_auto_state(getpid(), state, sizeof(state));
		if (!strcmp(state, "off"))
			break;
		it_assert(i < 100, "its cgroup gone: AUTO still '%s'", state);
		usleep(100000);
	}
	printf("its cgroup gone: no section matches, AUTO off\n");

	check(job, JOB, 1, "the job");
	check(more, MORE, 2, "the job's 32 MB more");
	it_assert(write(go, "x", 1) == 1, "tell the other client");
	it_assert(waitpid(other, &st, 0) == other && WIFEXITED(st) && !WEXITSTATUS(st),
		  "the client outside the unit failed (%#x)", st);
	other = -1;
	printf("every byte right\n");
	free(reloaded);
	return 0;
}
