/* SPDX-License-Identifier: MIT */
/* fork(): parent and child share what is stored, copy-on-write. */
#ifndef UZ_AGENT_FORK_H
#define UZ_AGENT_FORK_H

#include <poll.h>
#include <signal.h>

#include "agent.h"

struct uffd_msg;

/* pthread_atfork hooks (app thread). */
UZ_HIDDEN void fork_prepare_hook(void);
/* Starting afresh: the links to children (and their descriptors) were
 * another agent's. */
UZ_HIDDEN void fork_forget(void);
/* Close the links to our forked children (we leave the arena they
 * share, dropuid.c): nobody lets go of their slots there any more. */
UZ_HIDDEN void fork_let_go_of_children(void);
/* No fork() starts between these two (an interposed call that must not
 * be split by one); the program's signals are blocked meanwhile, the
 * mask before in *@old. */
UZ_HIDDEN void fork_hold(sigset_t *old);
/* The same, unless a fork is under way (1: held). */
UZ_HIDDEN int fork_try_hold(sigset_t *old);
UZ_HIDDEN void fork_release(const sigset_t *old);
UZ_HIDDEN void fork_parent_hook(void);
UZ_HIDDEN void fork_child_hook(void);
/* Is this thread between fork()'s prepare hook and its parent or child
 * hook (in a child: before its agent took over)? */
UZ_HIDDEN int fork_in_hooks(void);

/* Agent-thread halves of the hooks, run through loop_request(). */
UZ_HIDDEN int fork_prepare(void);
UZ_HIDDEN int fork_done(void);
/* A REMOVE read while a fork is frozen: the child drops it too. */
UZ_HIDDEN void fork_window_drop(const struct uffd_msg *m);

/* The sockets to our children: poll them; a hang-up means the child
 * exited or exec'd, and what it held of the arena is let go. */
UZ_HIDDEN int fork_pollfds(struct pollfd *p, int max);
UZ_HIDDEN void fork_pollfds_done(const struct pollfd *p, int n);

#endif
