/* SPDX-License-Identifier: MIT */
/* Who may opt in: allow= of uzswapd.conf, and who always may. */
#ifndef UZD_POLICY_H
#define UZD_POLICY_H

#include <stddef.h>
#include <sys/types.h>

struct config;

/*
 * May process @pid (effective @uid and @gid, from SO_PEERCRED) opt in?
 * Root, and a process that could get a kernel-mode userfaultfd itself
 * (CAP_SYS_PTRACE, vm.unprivileged_userfaultfd=1, or /dev/userfaultfd
 * open to it), always may; others if an allow= entry matches them
 * (default: the group uzswap, when it exists).  The process must still
 * run as @uid (real and effective).
 */
enum opt_in {
	OPT_IN_NO,	/* refused, the reason in @why */
	OPT_IN_DEVICE,	/* root or allow=: gets our /dev/userfaultfd */
	OPT_IN_OWN_WAY, /* could make a kernel-mode userfaultfd itself: may
			 * opt in, makes its own (nothing of ours to gain
			 * by exec'ing a setuid program after connecting) */
};
enum opt_in policy_may_opt_in(const struct config *cfg, pid_t pid, uid_t uid,
			      gid_t gid, char *why, size_t len);

/* May the uzswapctl of process @pid see and act on every client (root,
 * or admin= of uzswapd.conf)? */
int policy_is_admin(const struct config *cfg, pid_t pid, uid_t uid, gid_t gid);

#endif
