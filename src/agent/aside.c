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
#include <errno.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fork.h"
#include "lifeline.h"
#include "log.h"
#include "loop.h"

#define UZ_EXPORT __attribute__((visibility("default")))
/* how long the agent's threads may take to say who they are, and the
 * kernel to let go of them once ended: seconds on a busy machine (a
 * thread that has not run yet); past it, the call gets EINVAL */
#define ASIDE_WAIT_MS 10000

/* unshare() flags that need a process of one thread, and all it takes */
#define ONE_THREAD_FLAGS (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)
#define UNSHARE_FLAGS                                                       \
	(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_FS | CLONE_FILES |  \
	 CLONE_SYSVSEM | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |      \
	 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |        \
	 CLONE_NEWTIME)

/* Is @fd a mount namespace, or a user namespace other than ours (that
 * one is refused whatever the threads), the only ones a second thread
 * makes setns() refuse? */
static int setns_wants_one_thread(int fd, int nstype)
{
	int type = ioctl(fd, NS_GET_NSTYPE);
	struct stat a, b;

	if ((type != CLONE_NEWUSER && type != CLONE_NEWNS) ||
	    (nstype && nstype != type))
		return 0;
	if (type == CLONE_NEWNS)
		return 1;
	return !fstat(fd, &a) && !stat("/proc/self/ns/user", &b) &&
	       (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

struct thread_count {
	int all, agents;
};

static int count_one(pid_t tid, void *arg)
{
	struct thread_count *c = arg;

	c->all++;
	c->agents += lifeline_is_agent_thread(tid);
	return 0;
}

/* Threads of this process, and how many are ours; -1 on an error. */
static int count_threads(int *agents)
{
	struct thread_count c = { 0, 0 };
	int err = tasks_each(count_one, &c);

	*agents = c.agents;
	return err < 0 ? -1 : c.all;
}

/* Make the call again with the agent out of the way; -1/EINVAL when it
 * cannot step aside.  Signals wait meanwhile: a handler calling into the
 * agent while it is gone would wait for ever. */
static long without_agent(long nr, long a, long b)
{
	struct timespec ms = { 0, 1000000 };
	sigset_t old;
	int agents, n, known, waited, saved;
	long r;

	/* just after the agent started (in a forked child, say), its last
	 * threads may not have said who they are yet */
	for (waited = 0; waited < ASIDE_WAIT_MS && agent_here() &&
			 !lifeline_agents_known(); waited++)
		nanosleep(&ms, NULL);
	n = count_threads(&agents);
	known = lifeline_agents_known(); /* one reading: the test and the log */
	/* a vfork() child shares our memory and agent, not our threads */
	if (!agent_here() || getpid() != uz_agent.pid ||
	    loop_is_agent_thread() || n < 0 || n - agents != 1) {
		/* threads of the program's own: EINVAL as without us; the
		 * rest is ours to explain (it_stress seed 82, once) */
		if (agent_here() && (n - agents < 1 || !known))
			log_limited(UZ_LOG_WARN, 3, 60, "cannot step aside for "
				    "a one-thread call: %d threads, %d of them "
				    "the agent's (%s)", n, agents,
				    known ? "all known" : "not all known yet");
		errno = EINVAL;
		return -1;
	}
	/* in a signal handler that landed inside fork(): not now */
	if (!fork_try_hold(&old)) {
		log_limited(UZ_LOG_WARN, 3, 60, "cannot step aside for a "
			    "one-thread call: a fork is under way");
		errno = EINVAL;
		return -1;
	}
	__atomic_add_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
	r = loop_request(LOOP_STEP_ASIDE, 0, 0);
	if (r) {
		__atomic_sub_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
		fork_release(&old);
		log_limited(UZ_LOG_WARN, 3, 60, "cannot step aside for a "
			    "one-thread call: %s", strerror((int)-r));
		errno = EINVAL;
		return -1;
	}
	loop_join();
	uz_agent.active = 0;
	for (waited = 0; waited < ASIDE_WAIT_MS &&
			 count_threads(&agents) > 1; waited++)
		nanosleep(&ms, NULL);
	if (waited == ASIDE_WAIT_MS)
		log_limited(UZ_LOG_WARN, 3, 60, "the agent's threads did not "
			    "end within %d s: the one-thread call will fail",
			    ASIDE_WAIT_MS / 1000);
	/* whom to trust is told here, in the namespace we started in */
	agent_preconnect();
	r = syscall(nr, a, b);
	saved = errno;
	/* a new agent, a new state (evict_hold among it) */
	agent_restart_fresh(0);
	fork_release(&old);
	errno = saved;
	return r;
}

UZ_EXPORT int unshare(int flags)
{
	long r = syscall(SYS_unshare, flags);

	if (r && errno == EINVAL && (flags & ONE_THREAD_FLAGS) &&
	    !(flags & ~UNSHARE_FLAGS))
		r = without_agent(SYS_unshare, flags, 0);
	return (int)r;
}

UZ_EXPORT int setns(int fd, int nstype)
{
	long r = syscall(SYS_setns, fd, nstype);
	int saved = errno;

	if (r && saved == EINVAL && setns_wants_one_thread(fd, nstype))
		r = without_agent(SYS_setns, fd, nstype);
	else
		errno = saved; /* the checks' own calls may have set it */
	return (int)r;
}
