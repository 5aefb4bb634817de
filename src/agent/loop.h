/* SPDX-License-Identifier: MIT */
/* The agent thread, and requests other threads hand to it. */
#ifndef UZ_AGENT_LOOP_H
#define UZ_AGENT_LOOP_H

#include <stdint.h>

#include "agent.h"

enum loop_op {
	LOOP_RESTORE_RANGE = 1, /* put back every stored block in a range */
	LOOP_FORK_PREPARE,	/* see fork.c */
	LOOP_FORK_DONE,
	LOOP_EVENTS,		/* act on @len uffd events at @start (fork.c) */
	LOOP_RAWKID_DRAIN,	/* fill every raw clone's child (exit) */
	LOOP_STEP_ASIDE,	/* everything back, then the threads end (aside.c) */
	LOOP_OWN_ARENA,		/* an arena of our own (dropuid.c) */
};

/* Start the agent thread on a stack of its own.  Returns 0 or -errno. */
UZ_HIDDEN int loop_start(void);
/* After LOOP_STEP_ASIDE succeeded: wait until the agent's threads have
 * ended (not on the agent thread). */
UZ_HIDDEN void loop_join(void);
/* The agent thread could not take a descriptor table of its own: ours
 * stay in the application's (marked, stepped over by close_range). */
UZ_HIDDEN int loop_shares_table(void);
/* On the agent thread: bring back everything evicted.  0 or -errno. */
UZ_HIDDEN int restore_everything(void);
/* Wake the agent thread. */
UZ_HIDDEN void loop_wake(void);

/*
 * Run @op on the agent thread and wait for it (the block table belongs
 * to that thread alone).  Returns the op's result, or -ENOTCONN when the
 * agent is not running.  Must not be called from the agent thread.
 */
UZ_HIDDEN int loop_request(int op, uint64_t start, uint64_t len);

/* In a forked child: the parent's thread and its locks are gone. */
UZ_HIDDEN void loop_reset_child(void);

/* Is the caller the agent thread? */
UZ_HIDDEN int loop_is_agent_thread(void);

#endif
