/* SPDX-License-Identifier: MIT */
/* The threads that serve a client's faults, at a higher priority
 * (fault-nice= of uzswapd.conf(5)). */
#ifndef UZ_DAEMON_BOOST_H
#define UZ_DAEMON_BOOST_H

#include <sys/types.h>

/* At most this many threads of a process are raised: the agent's loop
 * and its worker (its filler runs SCHED_IDLE and is left so).  A
 * program can name its own threads as the agent does; this bounds what
 * that gains it. */
#define UZ_BOOST_THREADS 2

/* Give @pid's agent threads nice @nice (-20..-1): those named
 * UZ_AGENT_THREAD_NAME and scheduled SCHED_OTHER, in thread id order,
 * UZ_BOOST_THREADS at most.  How many now run at @nice, or -errno: the
 * process cannot be read, or -EPERM, we may not lower a nice value. */
int boost_agent_threads(pid_t pid, int nice);

#endif
