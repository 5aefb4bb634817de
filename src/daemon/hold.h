/* SPDX-License-Identifier: MIT */
/*
 * Holding a job at its memory limit: while the agent takes memory out
 * for a limit step, the application's threads wait in a frozen cgroup
 * of the cgroup v1 freezer, as a thread of a job that reaches its limit
 * waits in the kernel's reclaim.  The agent's threads (named
 * UZ_AGENT_THREAD_NAME) are moved back out first, so that they work on.
 * Eviction is asynchronous: without a hold, a job that fills memory
 * faster than its agent takes it out reaches its limit and is
 * OOM-killed (DESIGN.md §3).
 */
#ifndef UZD_HOLD_H
#define UZD_HOLD_H

#include <stdint.h>
#include <sys/types.h>

/* Find the cgroup v1 freezer, and thaw and let go of what a daemon on
 * @socket (ours) that was killed left held.  0, or -errno when there is
 * no freezer (then every hold_begin fails, and nothing is held). */
int hold_init(const char *socket);
/* Hold the threads of process @pid but its agent's, its group's
 * freezer.state given to the user it acts as now (its agent thaws
 * itself if we go away meanwhile): 0, or -errno with
 * @why (for the log) filled: no freezer (-ENODEV), the process is in a
 * freezer cgroup of someone else's (-EBUSY: a container's, which a
 * move would take it out of), no agent thread found (-ESRCH: it would
 * hold the agent too). */
int hold_begin(pid_t pid, char *why, size_t len);
/* Put process @pid in its group ahead of its first hold, thawed, its
 * agent's threads out: that hold then only freezes, where the move
 * takes tens of ms on a busy machine while the job fills.  0 (also
 * when it is in its group already), or -errno with @why filled, as
 * hold_begin. */
int hold_place(pid_t pid, char *why, size_t len);
/* Let @pid's threads go on (thaw its group).  It stays in the group
 * till hold_forget, so that its next hold only freezes. */
void hold_end(pid_t pid);
/* Thaw @pid, put it back in the freezer's root and remove its group:
 * it is no longer a client. */
void hold_forget(pid_t pid);
/* We stop: let go of every group, waiting up to a second for those
 * whose process is ending. */
void hold_shutdown(void);
/* Remove groups that could not be removed when their hold ended (the
 * process was ending), at most once a second (@now, ms). */
void hold_sweep(uint64_t now);

#endif
