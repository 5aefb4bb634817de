/* SPDX-License-Identifier: MIT */
/*
 * A process that drops privileges must not keep an arena it shares with
 * other processes (issue 10): after fork() parent and child share one,
 * read-write, mapped and by descriptor, and a pre-fork server's worker
 * compromised after its drop could have read what its parent evicts
 * later and written frames back.  After setresuid() the process maps and
 * holds none of the shared arena, what it had evicted is still evicted
 * (copied, compressed, into an arena of its own), every byte of its
 * memory is right, and its agent goes on.
 *   child   - a forked child drops root, then is evicted again
 *   threads - the same while another thread of the child reads its
 *             evicted memory (stepping the agent aside once hung here)
 *   seteuid - a temporary drop and back: the arena is left once
 *   rawclone - a raw clone's child inherits no mapping of the arena
 *   handler - a signal handler forks or drops during a drop: no hang
 *   owner   - the parent drops root with a child still sharing its
 *             arena; the child's bytes stay right (run last: the test
 *             process stays uid 65534)
 * IT_DROPSHARE_CASE=name runs one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)
#define NOBODY 65534

static uint8_t *mem;

/* The inode of the arena mapped in this process ("uzswap-arena" in
 * /proc/self/maps), or 0. */
static unsigned long arena_inode(void)
{
	char line[512];
	unsigned long ino = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "uzswap-arena") &&
		    sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1)
			break;
	if (f)
		fclose(f);
	return ino;
}

static int open_in(const char *task, unsigned long ino)
{
	char path[600];
	struct dirent *e;
	struct stat st;
	int found = 0;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/self/task/%s/fd", task);
	fds = opendir(path);
	while (fds && (e = readdir(fds)) && !found) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/fd/%s", task,
			 e->d_name);
		found = !stat(path, &st) && st.st_ino == ino;
	}
	if (fds)
		closedir(fds);
	return found;
}

/* Is @ino mapped, or open in any thread's table (the agent thread has
 * one of its own)? */
static int holds(unsigned long ino)
{
	char line[512];
	struct dirent *t;
	unsigned long i;
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	DIR *tasks;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %lu", &i) == 1 && i == ino)
			found = 1;
	if (f)
		fclose(f);
	tasks = opendir("/proc/self/task");
	while (tasks && (t = readdir(tasks)) && !found)
		if (t->d_name[0] != '.')
			found = open_in(t->d_name, ino);
	if (tasks)
		closedir(tasks);
	return found;
}

static void *reader(void *arg)
{
	long bad = -1;
	int i;

	for (i = 0; i < 4 && bad < 0; i++)
		bad = it_check(mem, LEN, 51);
	return (void *)bad;
}

static int drop_to_nobody(void)
{
	return setresgid(NOBODY, NOBODY, NOBODY) ||
	       setresuid(NOBODY, NOBODY, NOBODY);
}

/* Child statuses: each names what went wrong. */
enum { OK, NOT_SHARED = 10, DROP_FAILED, STILL_HOLDS, WRONG_BYTES, NO_AGENT,
       WRONG_AFTER, READER_WRONG, RESTORED };
static const char *const what[] = {
	"the child did not share the arena to begin with",
	"the drop failed", "after the drop it still maps or holds the shared arena",
	"it read wrong bytes after the drop", "its new agent evicted nothing after the drop",
	"it read wrong bytes after its new agent's eviction",
	"its other thread read wrong bytes",
	"the drop brought its evicted memory back (resident now)",
};

/* Pipes between a child that dropped root and its parent, who evicts
 * it (after a drop the daemon shows that process to root only, as
 * /proc does). */
static int ready[2], go[2];

/* The parent: evict the child once it says so. */
static void evict_for(pid_t c, const char *name)
{
	char out[4096], x;

	struct pollfd p = { ready[0], POLLIN, 0 };
	siginfo_t si = { 0 };

	/* until it says so, or it exits (its status then says why) */
	while (poll(&p, 1, 100) != 1) {
		if (!waitid(P_PID, c, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid)
			return;
	}
	it_assert(read(ready[0], &x, 1) == 1, "%s: read failed", name);
	it_assert(!it_ctl(out, sizeof(out), "evict %d --all", c),
		  "%s: uzswapctl evict of the child failed: %s", name, out);
	it_assert(write(go[1], "g", 1) == 1, "%s: write failed", name);
}

/* The child: wait for the parent's eviction; is it done? */
static int evicted_by_parent(void)
{
	char x;

	if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
		return 0;
	return it_rss_kb(mem, LEN) < (long)(LEN / 2048);
}

/* In a forked child: drop root (with a reader thread meanwhile if
 * @threads), check, be evicted by the parent and check again. */
static int child_drops(unsigned long ino, int threads)
{
	pthread_t t;
	void *bad = NULL;

	if (!holds(ino))
		return NOT_SHARED;
	if (threads && pthread_create(&t, NULL, reader, NULL))
		return DROP_FAILED;
	if (drop_to_nobody())
		return DROP_FAILED;
	if (threads) {
		pthread_join(t, &bad);
		if ((long)bad >= 0)
			return READER_WRONG;
	}
	if (holds(ino))
		return STILL_HOLDS;
	/* what it holds moved, compressed: nothing came back */
	if (!threads && it_rss_kb(mem, LEN) >= (long)(LEN / 2048))
		return RESTORED;
	if (it_check(mem, LEN, 51) >= 0)
		return WRONG_BYTES;
	if (!evicted_by_parent())
		return NO_AGENT;
	if (it_check(mem, LEN, 51) >= 0)
		return WRONG_AFTER;
	return OK;
}

static void reap(pid_t c, const char *name)
{
	int st;

	it_assert(waitpid(c, &st, 0) == c, "%s: waitpid failed", name);
	it_assert(WIFEXITED(st), "%s: the child died (status %#x)", name, st);
	it_assert(!WEXITSTATUS(st), "%s: %s", name,
		  WEXITSTATUS(st) >= NOT_SHARED &&
		  WEXITSTATUS(st) - NOT_SHARED < sizeof(what) / sizeof(what[0]) ?
		  what[WEXITSTATUS(st) - NOT_SHARED] : "the child failed");
}

static void forked_drop(const char *name, int threads)
{
	unsigned long ino;
	pid_t c;

	it_fill(mem, LEN, 51);
	it_evict_all();
	ino = arena_inode();
	it_assert(ino, "%s: no arena mapped", name);
	c = fork();
	it_assert(c >= 0, "%s: fork failed", name);
	if (!c) {
		close(go[1]); /* a parent that failed ends the wait */
		_exit(child_drops(ino, threads));
	}
	evict_for(c, name);
	reap(c, name);
	it_assert(it_check(mem, LEN, 51) < 0, "%s: the parent reads wrong bytes", name);
	it_evict_all();
	it_assert(it_check(mem, LEN, 51) < 0, "%s: the parent reads wrong bytes "
		  "after evicting again", name);
	printf("%s: the child that dropped root holds none of its parent's "
	       "arena; bytes right\n", name);
}

static void child(void)
{
	forked_drop("child", 0);
}

static void threads(void)
{
	forked_drop("threads", 1);
}

/* seteuid() away and back: left once, then the arena is ours alone. */
static void seteuid_case(void)
{
	unsigned long ino, mine;
	pid_t c;

	it_fill(mem, LEN, 51);
	it_evict_all();
	ino = arena_inode();
	c = fork();
	it_assert(c >= 0, "seteuid: fork failed");
	if (!c) {
		if (seteuid(NOBODY) || holds(ino))
			_exit(STILL_HOLDS);
		mine = arena_inode();
		if (seteuid(0) || arena_inode() != mine || !mine)
			_exit(DROP_FAILED);
		if (it_check(mem, LEN, 51) >= 0)
			_exit(WRONG_BYTES);
		_exit(OK);
	}
	reap(c, "seteuid");
	it_assert(it_check(mem, LEN, 51) < 0, "seteuid: the parent reads wrong bytes");
	printf("seteuid: left the shared arena at the first change only\n");
}

/* A child of a raw clone (no fork hooks ran: it has no agent, and its
 * setuid() passes straight through) inherits no mapping of the arena:
 * after a drop it could have rewritten our records or held their lock. */
static void rawclone(void)
{
	unsigned long ino;
	pid_t c;

	it_fill(mem, LEN, 51);
	it_evict_all();
	ino = arena_inode();
	c = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	it_assert(c >= 0, "rawclone: clone failed");
	if (!c)
		_exit(arena_inode() == ino ? STILL_HOLDS :
		      it_check(mem, LEN, 51) >= 0 ? WRONG_BYTES : OK);
	reap(c, "rawclone");
	it_assert(it_check(mem, LEN, 51) < 0, "rawclone: the parent reads wrong bytes");
	printf("rawclone: a raw clone's child maps none of the arena\n");
}

static int handler_does; /* 0: fork(), 1: setresuid() */

static void on_timer(int sig)
{
	(void)sig;
	if (!handler_does) {
		if (!fork())
			_exit(0);
	} else {
		setresuid(-1, NOBODY, -1);
	}
}

/* A signal handler that forks or drops while its thread is leaving a
 * shared arena (the fork lock is held meanwhile: it once waited on its
 * own thread for ever). */
static void handler(void)
{
	int round, st, waited;

	it_fill(mem, LEN, 51);
	it_evict_all();
	for (round = 0; round < 8; round++) {
		struct itimerval at = { { 0, 0 }, { 0, 1000 + 4000 * (round / 2) } };
		pid_t c = fork();

		it_assert(c >= 0, "handler: fork failed");
		if (!c) {
			handler_does = round % 2;
			signal(SIGALRM, on_timer);
			setitimer(ITIMER_REAL, &at, NULL);
			if (setresuid(NOBODY, NOBODY, NOBODY))
				_exit(DROP_FAILED);
			_exit(it_check(mem, LEN, 51) >= 0 ? WRONG_BYTES : OK);
		}
		for (waited = 0; waited < 200 && waitpid(c, &st, WNOHANG) != c; waited++)
			usleep(100000);
		if (waited == 200)
			kill(c, SIGKILL);
		it_assert(waited < 200, "handler: round %d (%s in the handler) "
			  "hung for 20 s", round, round % 2 ? "setresuid" : "fork");
		it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
			  "handler: round %d: status %#x", round, st);
	}
	printf("handler: fork() and setresuid() from a signal handler during "
	       "a drop: no hang, bytes right\n");
}

/* The parent drops while its child shares its arena; the child (still
 * root) then evicts the parent. */
static void owner(void)
{
	unsigned long ino;
	pid_t c, me = getpid();
	char x, out[4096];

	it_fill(mem, LEN, 51);
	it_evict_all();
	ino = arena_inode();
	c = fork();
	it_assert(c >= 0, "owner: fork failed");
	if (!c) {
		close(go[1]); /* a parent that failed ends the wait */
		if (read(go[0], &x, 1) != 1)
			_exit(DROP_FAILED);
		if (it_check(mem, LEN, 51) >= 0)
			_exit(WRONG_BYTES);
		if (it_ctl(out, sizeof(out), "evict %d --all", (int)me))
			_exit(NO_AGENT);
		_exit(write(ready[1], "r", 1) == 1 ? OK : NO_AGENT);
	}
	it_assert(!drop_to_nobody(), "owner: the drop failed");
	it_assert(!holds(ino), "owner: after the drop the parent still maps "
		  "or holds the arena its child shares");
	it_assert(it_rss_kb(mem, LEN) < (long)(LEN / 2048),
		  "owner: the drop brought the evicted memory back");
	it_assert(it_check(mem, LEN, 51) < 0, "owner: the parent reads wrong bytes");
	it_assert(write(go[1], "g", 1) == 1, "owner: write failed");
	reap(c, "owner");
	it_assert(read(ready[0], &x, 1) == 1, "owner: no word from the child");
	it_assert(it_rss_kb(mem, LEN) < (long)(LEN / 2048),
		  "owner: the parent's new agent evicted nothing");
	it_assert(it_check(mem, LEN, 51) < 0, "owner: wrong bytes after evicting again");
	printf("owner: the parent that dropped root left the arena its child "
	       "shares; bytes right in both\n");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*run)(void); } cases[] = {
		{ "child", child }, { "threads", threads },
		{ "seteuid", seteuid_case }, { "rawclone", rawclone },
		{ "handler", handler }, { "owner", owner },
	};
	const char *only = getenv("IT_DROPSHARE_CASE");
	unsigned i;

	it_setup(argc, argv);
	alarm(240);
	if (geteuid()) {
		printf("SKIP: needs root (the processes drop to uid 65534)\n");
		return 77;
	}
	mem = it_alloc(LEN, 1);
	it_assert(!pipe(ready) && !pipe(go), "pipe failed");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!only || !strcmp(only, cases[i].name))
			cases[i].run();
	return 0;
}
