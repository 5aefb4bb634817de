/* SPDX-License-Identifier: MIT */
/* What uzswapd reads from /proc: a client's anonymous RSS and start
 * time, fd kinds. */
#ifndef UZD_PROCFS_H
#define UZD_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* RssAnon of process @pid in bytes.  Returns 0 or -errno. */
int procfs_rss_anon(pid_t pid, uint64_t *bytes);

/* When process @pid started (clock ticks after boot, /proc/PID/stat's
 * 22nd field): with the pid, what tells it from a later process given
 * the same pid.  Returns 0 or -errno. */
int procfs_start_ticks(pid_t pid, uint64_t *ticks);

/* Process @pid's state letter (/proc/PID/status State: 'R', 'S', 'T'
 * stopped, 't' stopped by its tracer...) into *@state, and the process
 * tracing it (TracerPid: a debugger; 0 when none) into *@tracer.
 * 0 or -errno. */
int procfs_task_state(pid_t pid, char *state, int *tracer);

/* The filesystem uid of process @pid (what its file writes are checked
 * as), from /proc/PID/status.  0 or -errno. */
int procfs_fsuid(pid_t pid, uid_t *uid);

/* The name (comm) of thread @tid of process @pid into @out (@len), read
 * through the process: a thread id of another one is not found.  0 or
 * -errno. */
int procfs_thread_comm(pid_t pid, pid_t tid, char *out, size_t len);

/* A thread of process @pid that has not ended: @pid itself, or, when its
 * main thread has ended (pthread_exit) and others run on, one of those:
 * a dead main thread's /proc files show it in no cgroup. */
pid_t procfs_live_thread(pid_t pid);

/* Is our descriptor @fd a memfd?  Returns 1, 0, or -errno. */
int procfs_fd_is_memfd(int fd);

#endif
