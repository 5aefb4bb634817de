/* SPDX-License-Identifier: MIT */
/*
 * Calls the kernel refuses to a process with more than one thread:
 * unshare(CLONE_NEWUSER) (unshare -U and -r, bwrap), setns() into a user
 * namespace, or into a mount namespace while another thread shares the
 * caller's root and working directory (nsenter).  Under the agent the
 * process has three threads more, and they failed with EINVAL.  When the
 * caller is the application's only thread, the agent steps aside for the
 * call: it brings everything back and its threads end (loop.c
 * step_aside), the call is made again, and a new agent starts as a
 * forked child's that starts afresh does, in whatever namespace the
 * process is in now (none if the daemon's socket cannot be reached from
 * there).  A program with threads of its own gets EINVAL as it would
 * without the agent.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fork.h"
#include "lifeline.h"
#include "log.h"
#include "loop.h"

#define UZ_EXPORT __attribute__((visibility("default")))
#define GONE_WAIT_MS 1000 /* the kernel lets go of an ended thread */

/* unshare() flags that need a process of one thread */
#define ONE_THREAD_FLAGS (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)

/* Threads of this process (/proc/self/task), and how many are ours. */
static int count_threads(int *agents)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	*agents = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			n++;
			*agents += lifeline_is_agent_thread(atoi(e->d_name));
		}
	closedir(d);
	return n;
}

/* Make the call again with the agent out of the way; -1/EINVAL when it
 * cannot step aside.  Signals wait meanwhile: a handler calling into the
 * agent while it is gone would wait for ever. */
static long without_agent(long nr, long a, long b)
{
	struct timespec ms = { 0, 1000000 };
	sigset_t all, old;
	int agents, n, waited, saved;
	long r;

	/* just after the agent started (in a forked child, say), its last
	 * threads may not have said who they are yet */
	for (waited = 0; waited < GONE_WAIT_MS && agent_here() &&
			 !lifeline_agents_known(); waited++)
		nanosleep(&ms, NULL);
	n = count_threads(&agents);
	if (!agent_here() || loop_is_agent_thread() || n < 0 || n - agents != 1) {
		errno = EINVAL;
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	fork_hold();
	__atomic_add_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
	r = loop_request(LOOP_STEP_ASIDE, 0, 0);
	if (r) {
		__atomic_sub_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
		fork_release();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		log_limited(UZ_LOG_WARN, 3, 60, "cannot step aside for a "
			    "one-thread call: %s", strerror((int)-r));
		errno = EINVAL;
		return -1;
	}
	loop_join();
	uz_agent.active = 0;
	for (waited = 0; waited < GONE_WAIT_MS &&
			 count_threads(&agents) > 1; waited++)
		nanosleep(&ms, NULL);
	r = syscall(nr, a, b);
	saved = errno;
	/* a new agent, a new state (evict_hold among it) */
	agent_restart_fresh();
	fork_release();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return r;
}

UZ_EXPORT int unshare(int flags)
{
	long r = syscall(SYS_unshare, flags);

	if (r && errno == EINVAL && (flags & ONE_THREAD_FLAGS))
		r = without_agent(SYS_unshare, flags, 0);
	return (int)r;
}

UZ_EXPORT int setns(int fd, int nstype)
{
	long r = syscall(SYS_setns, fd, nstype);

	if (r && errno == EINVAL)
		r = without_agent(SYS_setns, fd, nstype);
	return (int)r;
}
