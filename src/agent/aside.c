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
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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
#include "arena.h"
#include "fork.h"
#include "lifeline.h"
#include "log.h"
#include "loop.h"

#define UZ_EXPORT __attribute__((visibility("default")))
#define GONE_WAIT_MS 1000 /* the kernel lets go of an ended thread */

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

/* Threads of this process (/proc/self/task), and how many are ours.
 * No allocation (opendir would malloc): a caller may be a signal
 * handler that interrupted malloc. */
static int count_threads(int *agents)
{
	char buf[4096];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = 0;
	long got, off;

	*agents = 0;
	if (fd < 0)
		return -1;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < got;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			if (e->d_name[0] != '.') {
				n++;
				*agents += lifeline_is_agent_thread(atoi(e->d_name));
			}
			off += e->d_reclen;
		}
	close(fd);
	return got < 0 ? -1 : n;
}

/*
 * Step the agent aside (everything back, its threads and descriptors
 * gone), make @call, start a new agent; or, with @call_last, start the
 * new agent first (the call is a privilege drop: the new agent connects
 * with the privileges the program was allowed with, and its threads
 * follow the drop with the rest).  @one_thread: the call needs a process
 * of one thread, so the caller must be the application's only one.
 * When the agent cannot step aside, @call is made anyway if @always,
 * else not (-1, EINVAL).  Signals wait meanwhile: a handler calling into
 * the agent while it is gone would wait for ever.
 */
static long with_agent_aside(long (*call)(void *), void *arg, int one_thread,
			     int always, int call_last)
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
	/* a vfork() child shares our memory and agent, not our threads */
	if (!agent_here() || getpid() != uz_agent.pid ||
	    loop_is_agent_thread() || n < 0 || (one_thread && n - agents != 1))
		goto refused;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* in a signal handler that landed inside fork(): not now */
	if (!fork_try_hold()) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto refused;
	}
	__atomic_add_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
	r = loop_request(LOOP_STEP_ASIDE, 0, 0);
	if (r) {
		__atomic_sub_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
		fork_release();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		log_limited(UZ_LOG_WARN, 3, 60, "the agent cannot step aside: %s",
			    strerror((int)-r));
		goto refused;
	}
	loop_join();
	uz_agent.active = 0;
	/* the kernel lets go of the agent's threads (and their table) */
	for (waited = 0; waited < GONE_WAIT_MS &&
			 (n = count_threads(&agents)) > 0 &&
			 (one_thread ? n > 1 : agents > 0); waited++)
		nanosleep(&ms, NULL);
	if (call_last) {
		/* a new agent, a new state (evict_hold among it) */
		agent_restart_fresh(0);
		r = call(arg);
		saved = errno;
	} else {
		/* whom to trust is told here, in the namespace we started in */
		agent_preconnect();
		r = call(arg);
		saved = errno;
		agent_restart_fresh(0);
	}
	fork_release();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return r;

refused:
	if (always)
		return call(arg);
	errno = EINVAL;
	return -1;
}

struct ns_call {
	long nr, a, b;
};

static long ns_call(void *arg)
{
	const struct ns_call *c = arg;

	return syscall(c->nr, c->a, c->b);
}

/* Make the call again with the agent out of the way; -1/EINVAL when it
 * cannot step aside. */
static long without_agent(long nr, long a, long b)
{
	struct ns_call c = { nr, a, b };

	return with_agent_aside(ns_call, &c, 1, 0, 0);
}

/*
 * Dropping privileges (setuid() and its family): a forked child shares
 * its parent's arena, read-write, mapped and by descriptor, and would
 * keep it after the drop; compromised then, it could read what its
 * parent evicts later and write frames back.  So before a uid change in
 * a process that shares its arena, the agent steps aside (everything the
 * process holds comes back into its own memory, the shared arena is
 * unmapped and closed) and a new agent starts with an arena of its own.
 * The drop itself is made whatever happens to the agent.
 */
static int arena_shared(void)
{
	const struct uz_arena_hdr *h = uz_agent.arena;
	unsigned i;

	if (!h)
		return 0;
	if (h->owner_pid != (uint32_t)getpid())
		return 1;
	for (i = 0; i < UZ_MAX_HOLDERS; i++)
		if (h->holder_pid[i] && h->holder_pid[i] != (uint32_t)getpid())
			return 1;
	return 0;
}

struct uid_call {
	const char *name;
	int nargs;
	uid_t a[3];
};

static long uid_call(void *arg)
{
	const struct uid_call *c = arg;
	void *fn = dlsym(RTLD_NEXT, c->name);

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	if (c->nargs == 1)
		return ((int (*)(uid_t))fn)(c->a[0]);
	if (c->nargs == 2)
		return ((int (*)(uid_t, uid_t))fn)(c->a[0], c->a[1]);
	return ((int (*)(uid_t, uid_t, uid_t))fn)(c->a[0], c->a[1], c->a[2]);
}

/* Does the call change a uid (-1: unchanged)? */
static int changes_uid(const struct uid_call *c)
{
	uid_t r, e, s;
	int i;

	if (getresuid(&r, &e, &s))
		return 1;
	for (i = 0; i < c->nargs; i++)
		if (c->a[i] != (uid_t)-1 && (c->a[i] != r || c->a[i] != e || c->a[i] != s))
			return 1;
	return 0;
}

static int uid_change(struct uid_call *c)
{
	if (agent_here() && getpid() == uz_agent.pid && changes_uid(c) &&
	    arena_shared())
		return (int)with_agent_aside(uid_call, c, 0, 1, 1);
	return (int)uid_call(c);
}

UZ_EXPORT int setuid(uid_t u)
{
	struct uid_call c = { "setuid", 1, { u } };

	return uid_change(&c);
}

UZ_EXPORT int seteuid(uid_t e)
{
	struct uid_call c = { "seteuid", 1, { e } };

	return uid_change(&c);
}

UZ_EXPORT int setreuid(uid_t r, uid_t e)
{
	struct uid_call c = { "setreuid", 2, { r, e } };

	return uid_change(&c);
}

UZ_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
	struct uid_call c = { "setresuid", 3, { r, e, s } };

	return uid_change(&c);
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
