/* SPDX-License-Identifier: MIT */
/*
 * A job that fills memory as fast as it can (GB/s) into a memory cgroup
 * half its size, with no kernel swap: the daemon's eviction is
 * asynchronous and cannot keep up, so without a hold the job is
 * OOM-killed (as `make bench-cglimit` showed).  With limit-hold, the
 * job's threads wait in a frozen cgroup v1 freezer group while its
 * agent takes memory out at the limit (hold.c), and the job finishes,
 * every byte right.  Then:
 *  - no thread is left held, nor a hold group behind;
 *  - a job is placed in its hold group, thawed, as soon as the daemon
 *    sees its cgroup's limit, before its first hold (which then only
 *    freezes), and the daemon keeps an empty group frozen meanwhile
 *    (the kernel's freezer stays switched on: see hold.c); a child it
 *    forks, in that group at first, is held at its own limit too; an
 *    agent thread found in the group at a hold is moved out first; a
 *    group left by another process of that pid, its freezer.state
 *    another user's, is root's again when the job is placed in it; a
 *    job whose main thread ended is moved into its group once;
 *  - a job in a freezer cgroup of someone else's is not moved (the
 *    daemon says why), and stays where it was put;
 *  - a hold a killed daemon left (made here by hand: a frozen child in
 *    the daemon's hold group) is let go of by the next daemon on that
 *    socket, and the frozen empty group it kept is removed;
 *  - a daemon that stops (SIGTERM) leaves nothing in the freezer.
 * Root, the cgroup v1 memory controller and freezer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define V1 IT_MEMCG_V1
#define FREEZER "/sys/fs/cgroup/freezer"
#define LIMIT (128 * IT_MB)
#define FILL (192 * IT_MB)

static char cg[256], cg_big[280], own_freezer[256], hold_base[300];

static pid_t owner;

static void cg_remove(void)
{
	char path[300];

	if (getpid() != owner) /* a job's exit */
		return;
	/* thawed first: a frozen task dies of SIGKILL only once thawed */
	if (own_freezer[0]) {
		snprintf(path, sizeof(path), "%s/freezer.state", own_freezer);
		it_write_file(path, "THAWED");
	}
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_memhold: could not remove %s: %s\n", cg,
			strerror(errno));
	if (cg_big[0] && it_memcg_remove(cg_big) && errno != ENOENT)
		fprintf(stderr, "it_memhold: could not remove %s: %s\n",
			cg_big, strerror(errno));
	if (own_freezer[0]) {
		if (rmdir(own_freezer) && errno != ENOENT)
			fprintf(stderr, "it_memhold: could not remove %s: %s\n",
				own_freezer, strerror(errno));
	}
	/* the daemon's hold group, if a part made by hand failed */
	if (hold_base[0])
		rmdir(hold_base);
}


/* The daemon's hold group: "uzswapd-" and the FNV-1a hash of its
 * socket's path, as hold.c names it. */
static void hold_group(char *out, size_t len)
{
	const char *s = getenv("UZSWAP_SOCKET");
	uint64_t h = 0xcbf29ce484222325ull;

	it_assert(s, "no UZSWAP_SOCKET");
	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	snprintf(out, len, FREEZER "/uzswapd-%016llx", (unsigned long long)h);
}

/* @pid's freezer cgroup, from /proc/PID/cgroup, into @out. */
static void freezer_of(pid_t pid, char *out, size_t len)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	it_assert(f, "open %s: %s", path, strerror(errno));
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ":freezer:");

		if (p) {
			snprintf(out, len, "%s", p + 9);
			out[strcspn(out, "\n")] = 0;
		}
	}
	fclose(f);
}

/* The job's filler when its main thread has ended (pthread_exit): the
 * daemon read such a process's cgroup as the root's, and the agent its
 * empty /proc/self/smaps, so it was neither held nor evicted. */
static void *orphan_filler(void *arg)
{
	(void)arg;
	it_cgroup_job(cg, FILL, 0);
	_exit(0);
}

static pid_t start_job_as(int main_ends)
{
	pid_t c;

	if (rmdir(cg) && errno != ENOENT)
		it_fail("rmdir %s: %s", cg, strerror(errno));
	it_memcg_make(cg, LIMIT);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c && main_ends) {
		pthread_t t;

		/* in the cgroup before the main thread ends: it stays where
		 * it was then, and at the limit the OOM killer, which looks
		 * at main threads, found none to kill in the cgroup while
		 * the rest spun in reclaim (the test hung to its timeout) */
		it_cgroup_join(cg);
		it_assert(!pthread_create(&t, NULL, orphan_filler, NULL),
			  "pthread_create failed");
		pthread_exit(NULL);
	}
	if (!c) {
		it_cgroup_job(cg, FILL, 0);
		_exit(0);
	}
	return c;
}

static pid_t start_job(void)
{
	return start_job_as(0);
}

static void wait_job(pid_t c, const char *what)
{
	int st;

	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL), "%s: the job "
		  "was killed (the OOM killer, in a %lu MB cgroup)", what,
		  LIMIT >> 20);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "%s: the job failed "
		  "(status %#x)", what, st);
}

/* @dir/freezer.state, read */
static void state_of(const char *dir, char *out, size_t len)
{
	char path[450];
	FILE *f;

	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	out[0] = 0;
	f = fopen(path, "r");
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = 0;
		fclose(f);
	}
}

/* Hold process @c by hand, as the daemon does, in @group/PID (@dir):
 * the whole process in, then (with @agent_out) its agent's threads back
 * to the root, then frozen. */
static void hold_by_hand(const char *group, pid_t c, int agent_out,
			 char *dir, size_t len)
{
	char path[450], v[32], state[32];

	mkdir(group, 0755);
	snprintf(dir, len, "%s/%d", group, (int)c);
	it_assert(!mkdir(dir, 0755), "mkdir %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(v, sizeof(v), "%d", (int)c);
	it_write_file(path, v);
	if (agent_out)
		it_agent_threads_into(c, FREEZER);
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	it_write_file(path, "FROZEN");
	usleep(200000);
	state_of(dir, state, sizeof(state));
	it_assert(!strncmp(state, "FROZEN", 6), "%d did not freeze (%s)", (int)c,
		  state);
}

static void write_quietly(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

/* Let @dir go by hand, whatever is left of it. */
static void unhold_by_hand(const char *dir, pid_t c)
{
	char path[450], v[32];

	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	write_quietly(path, "THAWED");
	snprintf(v, sizeof(v), "%d", (int)c);
	write_quietly(FREEZER "/cgroup.procs", v);
	rmdir(dir);
}

/* A hold a killed daemon left (made by hand: a frozen child, agent and
 * all, in our hold group) is let go of by the next daemon on that
 * socket. */
static void left_behind(const char *group)
{
	char dir[400], v[32];
	struct stat sb;
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork failed");
	if (!c) {
		for (int i = 0; i < 600; i++)
			usleep(100000);
		_exit(3); /* never thawed */
	}
	hold_by_hand(group, c, 0, dir, sizeof(dir));
	it_daemon_kill();
	it_daemon_restart();
	for (int i = 0; i < 50 && !stat(dir, &sb); i++)
		usleep(100000);
	it_assert(stat(dir, &sb), "%s is still there after a restart", dir);
	freezer_of(c, v, sizeof(v));
	it_assert(!strcmp(v, "/"), "the left-behind child is in freezer %s", v);
	snprintf(dir, sizeof(dir), "%s/pin", group);
	it_assert(stat(dir, &sb), "the frozen group %s the killed daemon kept "
		  "is still there after a restart", dir);
	kill(c, SIGTERM);
	it_assert(waitpid(c, &st, 0) == c && WIFSIGNALED(st) &&
		  WTERMSIG(st) == SIGTERM, "the left-behind child did not end "
		  "on SIGTERM (still frozen?), status %#x", st);
}

/* The daemon killed during a hold and not started again: the held
 * client's agent (not frozen) sees it go and thaws its own process,
 * which would otherwise wait for ever, deaf even to SIGKILL. */
static void daemon_gone(const char *group)
{
	volatile uint64_t *beat = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char dir[400];
	uint64_t b0;
	pid_t c;
	int st, i, went_on;

	it_assert(beat != MAP_FAILED, "mmap failed");
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		for (;;) {
			(*beat)++;
			usleep(1000);
		}
	}
	usleep(1000000); /* its agent connects (a client of its own) */
	hold_by_hand(group, c, 1, dir, sizeof(dir));
	b0 = *beat;
	usleep(300000);
	it_assert(*beat == b0, "the held child's heartbeat went on");
	it_daemon_kill();
	for (i = 0; i < 100 && *beat == b0; i++)
		usleep(100000);
	went_on = *beat != b0; /* before our own thaw below */
	unhold_by_hand(dir, c);
	it_assert(went_on, "the daemon was killed during a hold and the child "
		  "was still frozen 10 s later");
	kill(c, SIGKILL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_daemon_restart();
}

/* A job that joins memory cgroup @where (made again) and fills 8 MB,
 * far from its limit; then, with @go, waits for a byte on @go and forks
 * a child that fills at full speed in cg, and ends as that child did
 * (0, or 9 when it was killed), its pid written to @res first; without
 * @res it fills at full speed itself. */
static pid_t small_job(const char *where, const int *go, const int *res)
{
	pid_t c;

	if (rmdir(where) && errno != ENOENT)
		it_fail("rmdir %s: %s", where, strerror(errno));
	it_memcg_make(where, where == cg ? LIMIT : 8 * LIMIT);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		uint64_t *m;
		char b;
		pid_t g;
		int st;

		it_cgroup_join(where);
		m = it_alloc(8 * IT_MB, 1);
		for (size_t w = 0; w < 8 * IT_MB / 8; w++)
			m[w] = w;
		if (!go) {
			sleep(10);
			_exit(0);
		}
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		if (!res) {
			it_cgroup_job(where, FILL, 0);
			_exit(0);
		}
		g = fork();
		if (!g) {
			it_cgroup_job(cg, FILL, 0);
			_exit(0);
		}
		if (g < 0 || write(res[1], &g, sizeof(g)) != sizeof(g) ||
		    waitpid(g, &st, 0) != g)
			_exit(1);
		_exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 9 :
		      WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	return c;
}

/* Wait up to 5 s for @c to be in its hold group, "/uzswapd-HASH/PID"
 * as freezer_of reads it; its freezer cgroup into @where. */
static int wait_placed(const char *group, pid_t c, char *where, size_t len)
{
	char want[400];

	snprintf(want, sizeof(want), "%s/%d", strrchr(group, '/'), (int)c);
	for (int i = 0; i < 50; i++) {
		freezer_of(c, where, len);
		if (!strcmp(where, want))
			return 1;
		usleep(100000);
	}
	return 0;
}

/* A job in a limited cgroup is found in its own hold group, thawed,
 * before any hold. */
static void placed_ahead(const char *group)
{
	char where[256], state[32], dir[450];
	pid_t c = small_job(cg, NULL, NULL);
	int placed, st;

	placed = wait_placed(group, c, where, sizeof(where));
	snprintf(dir, sizeof(dir), "%s/%d", group, (int)c);
	state_of(dir, state, sizeof(state));
	kill(c, SIGKILL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(placed, "a job in a limited cgroup was not placed in its "
		  "hold group within 5 s (its freezer cgroup: %s)", where);
	it_assert(!strncmp(state, "THAWED", 6), "the job's hold group was %s "
		  "before any hold", state);
}

/* A group by the job's name left with its freezer.state given to
 * another user (by a process of that pid that was ending when its
 * group was let go of) is taken back for root when the job is placed
 * in it: that user could otherwise freeze the job. */
static void stale_group_owner(const char *group)
{
	char dir[450], path[500], where[256];
	struct stat sb;
	int go[2], st;
	pid_t c;

	it_assert(!pipe(go), "pipe failed");
	if (rmdir(cg) && errno != ENOENT)
		it_fail("rmdir %s: %s", cg, strerror(errno));
	it_memcg_make(cg, LIMIT);
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		char b;

		if (read(go[0], &b, 1) != 1)
			_exit(1);
		it_cgroup_join(cg);
		sleep(10);
		_exit(0);
	}
	mkdir(group, 0755);
	snprintf(dir, sizeof(dir), "%s/%d", group, (int)c);
	it_assert(!mkdir(dir, 0755), "mkdir %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	it_assert(!chown(path, 65534, (gid_t)-1), "chown %s: %s", path,
		  strerror(errno));
	it_assert(write(go[1], "g", 1) == 1, "write failed");
	close(go[0]), close(go[1]);
	it_assert(wait_placed(group, c, where, sizeof(where)), "a job in a "
		  "limited cgroup was not placed in its hold group within 5 s "
		  "(its freezer cgroup: %s)", where);
	it_assert(!stat(path, &sb), "stat %s: %s", path, strerror(errno));
	kill(c, SIGKILL);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(sb.st_uid == 0, "the job was placed in a group whose "
		  "freezer.state user %u owns", (unsigned)sb.st_uid);
}

/* An agent thread that is in the job's group when a hold comes (one
 * started as the job was placed, before it was named, or an agent
 * started again by one of the job's threads) is moved out before the
 * freeze: frozen, the hold would last limit-hold and take nothing. */
static void agent_back_in(const char *group)
{
	char where[256], dir[450];
	unsigned timed_out;
	int go[2];
	pid_t c;

	it_assert(!pipe(go), "pipe failed");
	c = small_job(cg, go, NULL);
	it_assert(wait_placed(group, c, where, sizeof(where)), "a job in a "
		  "limited cgroup was not placed in its hold group within 5 s "
		  "(its freezer cgroup: %s)", where);
	snprintf(dir, sizeof(dir), "%s/%d", group, (int)c);
	it_assert(it_agent_threads_into(c, dir) > 0, "the job has no agent thread");
	timed_out = it_log_count("held as long as", NULL);
	it_assert(write(go[1], "g", 1) == 1, "write failed");
	close(go[0]), close(go[1]);
	wait_job(c, "filling at full speed with its agent's threads put back "
		 "in its hold group");
	it_assert(it_log_count("held as long as", NULL) == timed_out, "a hold "
		  "lasted limit-hold: its agent's threads were frozen with the "
		  "job's");
}

/* A child forked by a job placed in its hold group starts in that
 * group, one of ours: it is held at its limit all the same (in its own
 * group), not taken for one in someone else's freezer cgroup.  The job
 * is in a memory cgroup of its own, far from its limit, and never held
 * itself (a hold of it would move the child back out first). */
static void child_of_placed(const char *group)
{
	char where[256], what[64];
	int go[2], res[2], st;
	pid_t c, g = 0;

	it_assert(!pipe(go) && !pipe(res), "pipe failed");
	if (rmdir(cg) && errno != ENOENT)
		it_fail("rmdir %s: %s", cg, strerror(errno));
	it_memcg_make(cg, LIMIT);
	c = small_job(cg_big, go, res);
	it_assert(wait_placed(group, c, where, sizeof(where)), "a job in a "
		  "limited cgroup was not placed in its hold group within 5 s "
		  "(its freezer cgroup: %s)", where);
	it_assert(write(go[1], "g", 1) == 1, "write failed");
	it_assert(read(res[0], &g, sizeof(g)) == sizeof(g), "no child pid");
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	close(go[0]), close(go[1]), close(res[0]), close(res[1]);
	it_assert(!(WIFEXITED(st) && WEXITSTATUS(st) == 9), "the child of a "
		  "placed job was killed (the OOM killer, in a %lu MB cgroup)",
		  LIMIT >> 20);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the child of a placed "
		  "job failed (status %#x)", st);
	snprintf(what, sizeof(what), "holding %d ", (int)g);
	it_assert(it_log_has(what, NULL), "the child (%d) of a placed job was "
		  "never held", (int)g);
}

/* The frozen empty group the daemon keeps while it runs (hold.c's pin),
 * made by its first placing or hold. */
static void pin_frozen(const char *group)
{
	char pin[400], state[32];

	snprintf(pin, sizeof(pin), "%s/pin", group);
	state_of(pin, state, sizeof(state));
	it_assert(!strncmp(state, "FROZEN", 6), "no frozen empty group %s kept "
		  "while the daemon runs (%s)", pin, state[0] ? state : "none");
}

/* A daemon that stops (SIGTERM) leaves nothing in the freezer: the
 * frozen empty group and its own removed.  Its restart is ours (it
 * was restarted by daemon_gone). */
static void stops_clean(const char *group)
{
	pid_t d = atoi(getenv("IT_DAEMON_PID"));
	struct stat sb;

	placed_ahead(group);
	pin_frozen(group);
	kill(d, SIGTERM);
	it_assert(waitpid(d, NULL, 0) == d, "waitpid for the daemon failed");
	it_assert(stat(group, &sb), "%s was left after the daemon stopped",
		  group);
	it_daemon_restart();
}

int main(int argc, char **argv)
{
	char group[300], path[400], where[256];
	struct stat sb;
	pid_t c;

	it_need_memcg_v1();
	if (stat(FREEZER "/tasks", &sb)) {
		printf("SKIP: no cgroup v1 freezer at " FREEZER "\n");
		return 77;
	}
	it_setup_config(argc, argv, IT_CONFIG_LIMIT_STEPS);
	it_timeout(240);
	snprintf(cg, sizeof(cg), V1 "/uzswap-hold-%d", getpid());
	snprintf(cg_big, sizeof(cg_big), "%s-big", cg);
	owner = getpid();
	atexit(cg_remove);
	hold_group(group, sizeof(group));
	snprintf(hold_base, sizeof(hold_base), "%s", group);

	/* 1. as fast as it can: held, not killed */
	c = start_job();
	wait_job(c, "filling at full speed");
	it_assert(it_log_has("holding", NULL), "the daemon never held the job");
	/* the job stays in its group between holds; the daemon removes
	 * it once the job is gone (its disconnect, or the sweep after) */
	snprintf(path, sizeof(path), "%s/%d", group, (int)c);
	for (int i = 0; i < 50 && !stat(path, &sb); i++)
		usleep(100000);
	it_assert(stat(path, &sb), "%s was left behind", path);
	freezer_of(getpid(), where, sizeof(where));
	it_assert(!strcmp(where, "/"), "the test itself is in freezer %s", where);
	pin_frozen(group);
	/* 1b. the same with the job's main thread ended */
	c = start_job_as(1);
	wait_job(c, "filling at full speed, its main thread ended");
	{
		char what[32];

		/* its first live thread is its agent's, in the root: its
		 * place was looked for in its group's list, not there */
		snprintf(what, sizeof(what), "%d goes into ", (int)c);
		it_assert(it_log_count(what, NULL) <= 1, "the job whose main "
			  "thread ended was moved into its hold group %u "
			  "times, not once", it_log_count(what, NULL));
	}
	printf("a %lu MB fill at full speed in a %lu MB cgroup finished, held "
	       "while memory was taken, with its main thread running or "
	       "ended: every byte right\n", FILL >> 20, LIMIT >> 20);

	/* 1c. placed in its group before its first hold; its child held */
	placed_ahead(group);
	child_of_placed(group);
	agent_back_in(group);
	stale_group_owner(group);

	/* 2. in a freezer cgroup of someone else's: never moved */
	snprintf(own_freezer, sizeof(own_freezer), FREEZER "/uzswap-it-%d",
		 getpid());
	it_assert(!mkdir(own_freezer, 0755), "mkdir %s: %s", own_freezer,
		  strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.procs", own_freezer);
	{
		char pid[32];

		/* ours, so the job's fork lands there too */
		snprintf(pid, sizeof(pid), "%d", getpid());
		it_write_file(path, pid);
	}
	c = start_job();
	{
		int st;

		it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
		/* no hold: killed or not, as without one */
	}
	it_assert(it_log_has("already", "not held"), "the daemon did not say why a job in "
		  "another freezer cgroup was not held");
	freezer_of(getpid(), where, sizeof(where));
	snprintf(path, sizeof(path), "/uzswap-it-%d", getpid());
	it_assert(!strcmp(where, path), "the test's freezer cgroup became %s",
		  where);
	{
		char pid[32];

		/* ourselves, back */
		snprintf(pid, sizeof(pid), "%d", getpid());
		it_write_file(FREEZER "/cgroup.procs", pid);
	}

	/* 3. a killed daemon's hold is let go of at the next start */
	left_behind(group);
	/* 4. or by the held client's agent, if it is not started again */
	daemon_gone(group);
	/* 5. a daemon that stops removes what it made */
	stops_clean(group);
	printf("a job in another freezer cgroup was left there; a hold a "
	       "killed daemon left was let go of at its restart, and by the "
	       "held process's agent without one; a daemon that stopped left nothing "
	       "in the freezer\n");
	return 0;
}
