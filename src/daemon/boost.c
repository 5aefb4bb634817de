/* SPDX-License-Identifier: MIT */
/*
 * A fault waits for an agent thread.  On a busy machine that thread
 * waits behind every other runnable one at the same nice, and the
 * program stalls meanwhile (issue 13: with a busy loop on each CPU,
 * seq_1g's fault p99 was 8 ms).  The kernel's own swap does the work in
 * the faulting thread's time; this gives the threads that do it for us
 * more weight instead.  Only root may lower a nice value, so the daemon
 * does it (boost.h).
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "boost.h"
#include "log.h"
#include "procfs.h"

/* Thread @tid of @pid to @nice unless it runs so already: 1 when it
 * does now, 0 when it is not one to raise or went away, -EPERM when we
 * may not (no CAP_SYS_NICE). */
static int boost_one(pid_t pid, pid_t tid, int nice)
{
	int now;

	/* the agent never runs in the main thread */
	if (tid == pid || !procfs_is_agent_thread(pid, tid) ||
	    sched_getscheduler(tid) != SCHED_OTHER)
		return 0;
	errno = 0;
	now = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno)
		return 0;
	if (now == nice)
		return 1;
	/* a thread id read from the process's own task list a moment ago:
	 * one reused since would have to be named as ours, too */
	if (setpriority(PRIO_PROCESS, (id_t)tid, nice)) {
		if (errno == EPERM || errno == EACCES)
			return -EPERM;
		log_limited(UZ_LOG_WARN, 3, 60, "cannot give thread %d of %d "
			    "nice %d (fault-nice): %s", (int)tid, (int)pid, nice,
			    strerror(errno));
		return 0;
	}
	return 1;
}

int boost_agent_threads(pid_t pid, int nice)
{
	char path[64];
	struct dirent *e;
	pid_t tids[UZ_BOOST_THREADS * 4], tid;
	unsigned n = 0, i, j;
	int done = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	/* the lowest ids: the agent starts its threads before main() */
	while ((e = readdir(d))) {
		tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		for (i = 0; i < n && tids[i] < tid; i++)
			;
		if (i == sizeof(tids) / sizeof(tids[0]))
			continue;
		if (n < sizeof(tids) / sizeof(tids[0]))
			n++;
		for (j = n - 1; j > i; j--)
			tids[j] = tids[j - 1];
		tids[i] = tid;
	}
	closedir(d);
	for (i = 0; i < n && done < UZ_BOOST_THREADS; i++) {
		int r = boost_one(pid, tids[i], nice);

		if (r < 0)
			return r;
		done += r;
	}
	return done;
}
