/* SPDX-License-Identifier: MIT */
/*
 * The process ends when its last application thread does, as it would
 * without the agent: glibc exits with status 0 when the last thread
 * calls pthread_exit(), but the agent's threads count as threads, so a
 * program whose last thread ends that way (a thread that forked, in the
 * child) would live on forever.
 *
 * The agent thread watches one application thread through a pidfd
 * (PIDFD_THREAD, Linux 6.9: readable once that thread has exited).  When
 * it fires, the agent looks for another to watch; when none is left it
 * calls exit(0) for the application.  The main thread is watched only
 * when no other is left: its pidfd stays silent while other threads
 * (ours) live (6.18's pidfd_poll: "don't wake waiters if the
 * thread-group leader exited prematurely").  A value of ours in its
 * thread-specific data has glibc call us as it ends (pthread_exit,
 * thrd_exit, cancellation), and the agent thread then looks every
 * second until it has; a main thread that ends by a raw exit system
 * call is seen at the agent thread's next wake-up, within two minutes when
 * idle (loop.c quiet).  Older kernels have no thread pidfd: nothing is
 * watched there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"
#include "lifeline.h"
#include "log.h"
#include "loop.h"
#include "protocol.h"
#include "uffd_compat.h"

#define MAX_AGENT_THREADS 8

static pid_t agent_tids[MAX_AGENT_THREADS];
static unsigned n_agent_tids, n_expected;
static int watch_fd = -1, watching, watching_main;
static int main_ending; /* the main thread is ending (main_ends) */
static pthread_key_t main_key;
static int main_key_made;

/* glibc calls this on the main thread as it ends through the C library
 * (never at exit(): a process that exits needs no lifeline). */
static void main_ends(void *unused)
{
	(void)unused;
	if (syscall(SYS_gettid) != getpid())
		return; /* (a value copied to a thread that is not main) */
	__atomic_store_n(&main_ending, 1, __ATOMIC_RELEASE);
	loop_wake();
}

/* Have glibc tell us when this thread, the process's main one (the
 * program's at start, a forking thread in its child), ends. */
static void mark_main_thread(void)
{
	if (syscall(SYS_gettid) != getpid())
		return; /* started on another thread (a step-aside) */
	if (!main_key_made)
		main_key_made = pthread_key_create(&main_key, main_ends) == 0;
	if (main_key_made)
		pthread_setspecific(main_key, &main_key);
}

void lifeline_reset(unsigned threads)
{
	unsigned i;

	/* a forked child's copy names its parent's threads: a slot counted
	 * but not yet written must read as unknown, not as one of those */
	for (i = 0; i < MAX_AGENT_THREADS; i++)
		__atomic_store_n(&agent_tids[i], 0, __ATOMIC_RELEASE);
	n_agent_tids = 0;
	n_expected = threads;
	watching = watching_main = 0;
	/* an agent thread's descriptor: a forked child has no copy */
	watch_fd = -1;
	__atomic_store_n(&main_ending, 0, __ATOMIC_RELAXED);
	mark_main_thread();
}

void lifeline_thread_start(void)
{
	static int gap_ms = -1;
	unsigned i = __atomic_fetch_add(&n_agent_tids, 1, __ATOMIC_ACQ_REL);

	/* counted before it is written: a reader may see 0 here for a
	 * moment (long for the filler, SCHED_IDLE on a busy machine), so
	 * nothing is watched until every slot is (lifeline_agents_known):
	 * an agent thread taken for the application's, and watched, kept
	 * the process alive for ever */
	uz_test_delay("UZSWAP_TEST_LIFELINE_GAP_MS", &gap_ms);
	/* how the daemon tells our threads from the program's (hold.c),
	 * and sysadmins in top -H */
	prctl(PR_SET_NAME, UZ_AGENT_THREAD_NAME);
	if (i < MAX_AGENT_THREADS)
		__atomic_store_n(&agent_tids[i], (pid_t)syscall(SYS_gettid),
				 __ATOMIC_RELEASE);
}

int lifeline_agents_known(void)
{
	unsigned i, n = __atomic_load_n(&n_agent_tids, __ATOMIC_ACQUIRE);

	if (n < n_expected)
		return 0;
	for (i = 0; i < n && i < MAX_AGENT_THREADS; i++)
		if (!__atomic_load_n(&agent_tids[i], __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

int lifeline_is_agent_thread(pid_t tid)
{
	unsigned i, n = __atomic_load_n(&n_agent_tids, __ATOMIC_ACQUIRE);

	for (i = 0; i < n && i < MAX_AGENT_THREADS; i++)
		if (__atomic_load_n(&agent_tids[i], __ATOMIC_ACQUIRE) == tid)
			return 1;
	return 0;
}

/* Has thread @tid of ours ended?  A main thread that ended before the
 * others stays listed, a zombie, until the whole process ends. */
static int thread_ended(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		/* gone; any other failure (no descriptor left) tells nothing */
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH;
	if (n == 0)
		return 1;
	buf[n] = 0;
	/* "tid (comm) S ...": the state follows the last ')' */
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

struct app_threads {
	pid_t other;	/* a live one that is not the main thread */
	int main_alive;
};

static int note_app_thread(pid_t tid, void *arg)
{
	struct app_threads *t = arg;

	if (lifeline_is_agent_thread(tid) || thread_ended(tid))
		return 0;
	if (tid == getpid())
		t->main_alive = 1;
	else
		t->other = tid;
	return t->other != 0; /* one other is enough */
}

/* A live thread of ours that is not the agent's, other than the main
 * thread if there is one; the main thread if only it is left; 0 when
 * none is; -1 when the threads cannot be listed. */
static pid_t any_application_thread(void)
{
	struct app_threads t = { 0, 0 };

	if (tasks_each(note_app_thread, &t) < 0)
		return -1;
	return t.other ? t.other : t.main_alive ? getpid() : 0;
}

int lifeline_wants_ticks(void)
{
	/* not watching yet: an agent thread has not said who it is, and
	 * lifeline_fd tries again at the next wake-up */
	return !watching ||
	       (watching_main && __atomic_load_n(&main_ending, __ATOMIC_ACQUIRE));
}

void lifeline_tick(void)
{
	static uint64_t last;

	/* at most once a second: a fault storm wakes us far more often */
	if (!watching_main || now_ns() - last < 1000000000ull)
		return;
	last = now_ns();
	if (thread_ended(getpid()))
		lifeline_check();
}

int lifeline_fd(void)
{
	/* lifeline_check says so again until every agent thread is known */
	if (!watching) {
		watching = 1;
		lifeline_check();
	}
	return watch_fd;
}

void lifeline_check(void)
{
	int tries;

	if (watch_fd >= 0)
		fd_close(watch_fd);
	watch_fd = -1;
	watching_main = 0;
	if (!lifeline_agents_known()) {
		watching = 0; /* lifeline_fd starts again once they are */
		return;
	}
	/* the one we pick may end before we open it: pick again */
	for (tries = 0; tries < 100; tries++) {
		pid_t tid = any_application_thread();

		if (tid < 0)
			return; /* no /proc: nothing to watch with */
		if (!tid) {
			/* only the agent is left: end as glibc would, after
			 * bringing everything back (atexit handlers run on
			 * this thread, which cannot fault on evicted memory) */
			log_debug("the last application thread has ended");
			restore_everything();
			exit(0);
		}
		if (tid == getpid()) {
			watching_main = 1; /* see lifeline_tick */
			return;
		}
		watch_fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
		if (watch_fd >= 0) {
			watch_fd = fd_hide(watch_fd);
			return;
		}
		if (errno != ESRCH)
			return; /* a kernel without thread pidfds */
	}
}
