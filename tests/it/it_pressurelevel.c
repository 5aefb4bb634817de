/* SPDX-License-Identifier: MIT */
/*
 * cgroup v1 has no PSI of its own; its memory.pressure_level events
 * stand in (memevents.c).  The client sits in a 256 MB v1 memory cgroup
 * with a process that writes a 384 MB file there again and again: the
 * reclaim at the cgroup's limit struggles with dirty pages ("medium"
 * events: a burst as it starts, then about one a second, counted here;
 * re-reading a file makes "low" ones, nearly no "medium") while the
 * client's own memory stays far below the limit.  A writer stalls, so
 * the machine's PSI can reach even auto-pressure=100 (seen here with a
 * reader): the client is alone in a cgroup v2 of its own, whose PSI (it
 * never stalls) it is judged by instead, so that only the v1 pressure
 * level can make it back off.  The loop first takes from the client;
 * once the writer runs, the client backs off (AUTO pressure) and stays
 * so for 8 intervals at least (an event counts for 10), and once the
 * writer is gone it takes again.  Every byte of the client's memory
 * is checked at the end.
 * Then the client moves under a 1 GB parent (its limit binds it), and
 * the same writer runs in a 64 MB sibling cgroup: reclaim there is not
 * the parent's, and must not back the client off (with "hierarchy" the
 * daemon heard it, and any user's writes in a small cgroup of his own
 * under a shared slice backed off every client there: review probe P3).
 * In the v1 root at last, the client gets no listener at all.  Root,
 * the cgroup v1 memory controller and a cgroup v2 (for PSI) beside it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LIMIT (256 * IT_MB)
#define MEM (96 * IT_MB) /* 48 blocks, one a step: left at the end */
#define FILE_MB 384
#define INTERVAL_MS 500
#define IT_V2 "/sys/fs/cgroup/unified"

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=500\n" /* INTERVAL_MS */
	"auto-step=1\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n"
	"min-age=1\n"
	"log-level=debug\n";
static char cg[256], file[256], v2[256], v2_home[4200];
static char parent[300], kid_a[320], kid_b[320];
static pid_t writer, sibling;
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

static void group_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(-*pid, SIGKILL);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void writer_stop(void)
{
	group_kill(&writer);
}

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	writer_stop();
	group_kill(&sibling);
	if (kid_a[0] && it_memcg_remove(kid_a))
		fprintf(stderr, "it_pressurelevel: could not remove %s\n", kid_a);
	if (kid_b[0] && it_memcg_remove(kid_b))
		fprintf(stderr, "it_pressurelevel: could not remove %s\n", kid_b);
	if (parent[0] && it_memcg_remove(parent))
		fprintf(stderr, "it_pressurelevel: could not remove %s\n", parent);
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

/* In the cgroup (inherited), once told through @go: write the file
 * again and again until killed, in a process group of its own.  Forked
 * before the client's memory is: pages shared with a child at a fork
 * stay so for the kernel (not exclusive: UFFDIO_MOVE says EBUSY) until
 * written, even once the child has run exec, and the loop found nothing
 * more to take. */
static pid_t writer_fork(int *go, const char *join)
{
	char cmd[700], b;
	int p[2];
	pid_t c;

	it_assert(!pipe(p), "pipe");
	c = fork();
	it_assert(c >= 0, "fork");
	if (c) {
		close(p[0]);
		*go = p[1];
		return c;
	}
	close(p[1]);
	setpgid(0, 0);
	/* stalled, it must not count in the client's v2 cgroup */
	if (v2_move(v2_home, getpid()))
		_exit(4);
	if (read(p[0], &b, 1) != 1)
		_exit(0);
	if (join) {
		char procs[400], pid[32];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", join);
		snprintf(pid, sizeof(pid), "%d", getpid());
		it_write_file(procs, pid);
	}
	snprintf(cmd, sizeof(cmd), "while :; do dd if=/dev/zero of=%s bs=1M "
		 "count=%d status=none; done", file, FILE_MB);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(3);
}

/* An eventfd on @dir's memory.pressure_level at "medium,local", as the
 * daemon's, to count what a cgroup's reclaim says */
static int level_listen(const char *dir)
{
	char path[400], spec[64];
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), lfd, cfd;

	it_assert(efd >= 0, "eventfd: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.pressure_level", dir);
	lfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
	cfd = open(path, O_WRONLY | O_CLOEXEC);
	it_assert(lfd >= 0 && cfd >= 0, "open %s: %s", path, strerror(errno));
	snprintf(spec, sizeof(spec), "%d %d medium,local", efd, lfd);
	it_assert(write(cfd, spec, strlen(spec)) > 0, "listen on %s: %s", dir,
		  strerror(errno));
	close(lfd);
	close(cfd);
	return efd;
}

int main(int argc, char **argv)
{
	char state[32] = "";
	uint64_t taken;
	uint8_t *m;
	int i, go, go_sibling;

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
	writer = writer_fork(&go, NULL);
	snprintf(parent, sizeof(parent), "%s-p", cg);
	snprintf(kid_a, sizeof(kid_a), "%s/a", parent);
	snprintf(kid_b, sizeof(kid_b), "%s/b", parent);
	it_memcg_make(parent, 1024 * IT_MB);
	it_memcg_make(kid_a, UINT64_MAX); /* none: the parent's binds */
	it_memcg_make(kid_b, 64 * IT_MB);
	sibling = writer_fork(&go_sibling, kid_b);
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
		  "a pressure level event before the writer ran");

	it_assert(write(go, "x", 1) == 1, "start the writer");
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
	/* and it holds while the writer goes on (the events come in
	 * bursts and gaps: not longer than one counts for, 10 intervals) */
	for (i = 0; i < 8 * INTERVAL_MS / 250; i++) {
		usleep(250000);
		it_auto_state(getpid(), state, sizeof(state));
		it_assert(!strcmp(state, "pressure"), "the writer goes on, AUTO "
			  "'%s' %.2f s later", state, (i + 1) / 4.0);
	}
	printf("held in pressure for 8 intervals while the writer ran\n");

	writer_stop();
	unlink(file); /* its page cache goes with it */
	taken = it_stat("evicted_bytes");
	/* the back-off ends once the events stop: it takes again (a
	 * client with memory left; nothing left would say "nothing") */
	if (!it_wait_auto_state("taking", state, sizeof(state), 60)) {
		char out[1 << 14];

		it_ctl(out, sizeof(out), "stats -r -o pid,auto,registered,"
		       "resident,evicted,inactive,inact-taken,inact-back");
		it_fail("the writer gone 60 s, AUTO '%s', not taking:\n%s",
			state, out);
	}
	printf("the writer gone, AUTO taking again (%llu bytes taken before)\n",
	       (unsigned long long)taken);

	/* under the 1 GB parent, a writer in a sibling's 64 MB cgroup */
	it_cgroup_join(kid_a);
	{
		int efd = level_listen(kid_b);
		unsigned pressure = 0;
		uint64_t n, events = 0;

		it_assert(write(go_sibling, "x", 1) == 1, "start the sibling writer");
		for (i = 0; i < 16 * INTERVAL_MS / 250; i++) {
			usleep(250000);
			while (read(efd, &n, sizeof(n)) == sizeof(n))
				events += n;
			it_auto_state(getpid(), state, sizeof(state));
			pressure += !strcmp(state, "pressure");
		}
		close(efd);
		group_kill(&sibling);
		if (!events) {
			printf("SKIP: the sibling's writer made no medium pressure "
			       "level event in 8 s: nothing to tell apart\n");
			return 77;
		}
		it_assert(!pressure, "a writer in a sibling cgroup (%llu medium "
			  "events there) backed the client under the parent "
			  "off: AUTO pressure in %u of %d looks",
			  (unsigned long long)events, pressure,
			  16 * INTERVAL_MS / 250);
		printf("a sibling's writer (%llu medium events there) did not back "
		       "the client off\n", (unsigned long long)events);
	}
	/* in the v1 root, no listener: the machine's reclaim is its PSI's
	 * (a listener there heard every cgroup's, review probe P3) */
	it_cgroup_join(IT_MEMCG_V1);
	usleep(3 * INTERVAL_MS * 1000);
	it_assert(!it_log_has("memory cgroup " IT_MEMCG_V1 ": pressure level "
			      "listener armed", NULL),
		  "a pressure level listener on the v1 root");
	it_assert(it_check(m, MEM, 21) < 0, "the client's memory is wrong");
	printf("PASS: a v1 cgroup's memory.pressure_level backs its clients off\n");
	return 0;
}
