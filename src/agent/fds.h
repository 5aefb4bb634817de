/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_FDS_H
#define UZ_AGENT_FDS_H

#include <poll.h>
#include <signal.h>

#include "agent.h"

/*
 * Move one of our descriptors up, out of the application's way, and,
 * while it is in the application's table, remember it as ours, so that
 * close_range()/closefrom() of "all" the application's descriptors
 * leave it open.  Returns the new fd (the old one is closed), or @fd
 * when it can't move it.
 */
UZ_HIDDEN int fd_hide(int fd);
/* Close one of ours (forgetting it); -1 is ignored, and so is, on an
 * application thread, a number not marked ours there. */
UZ_HIDDEN void fd_close(int fd);
/* Forget @fd without closing it (it is not ours here). */
UZ_HIDDEN void fd_forget(int fd);

/* On an application thread, take turns with the application's
 * dup2()/dup3() (the gate) while checking that a number in its table is
 * ours and closing it; signals are held back meanwhile.  Nests in one
 * thread.  Does nothing on the agent's threads (they never wait for it). */
struct fds_gate {
	sigset_t mask;
	int taken;
};
UZ_HIDDEN void fds_gate_enter(struct fds_gate *g);
UZ_HIDDEN void fds_gate_leave(struct fds_gate *g);
/* A forked child: the gate's holder may have been another thread. */
UZ_HIDDEN void fds_gate_reset_child(void);
/* In a fork()'s child, before anything takes the gate: which number a
 * dup2() of another thread was landing on as the fork copied the table
 * (fds_close_inherited leaves it be). */
UZ_HIDDEN void fds_fork_child_first(void);

/* Agent thread, as it starts: a descriptor table of its own with ours
 * only (the threads it starts then share it).  0 or -errno. */
UZ_HIDDEN int fds_take_own_table(void);
/* Is the calling thread one of the agent's (it took its own table)? */
UZ_HIDDEN int fds_agent_thread(void);
/* Application thread, once the agent thread has its table: close our
 * descriptors in the application's table. */
UZ_HIDDEN void fds_leave_app(void);
/* In a fork()'s child whose parent's agent had no table of its own: the
 * parent's descriptors, copied into ours, closed, all but @keep (the
 * link to the parent). */
UZ_HIDDEN void fds_close_inherited(int keep);
/* Agent thread: a copy of descriptor @fd of thread @tid's table (the
 * application's) in ours.  The new fd or -errno. */
UZ_HIDDEN int fds_pull(pid_t tid, int fd);
/* poll(), also when the program's RLIMIT_NOFILE is below @n. */
UZ_HIDDEN int fd_poll(struct pollfd *p, nfds_t n, int timeout_ms);

#endif
