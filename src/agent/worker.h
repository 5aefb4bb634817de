/* SPDX-License-Identifier: MIT */
/* The worker thread: the other half of a block's decode or encode. */
#ifndef UZ_AGENT_WORKER_H
#define UZ_AGENT_WORKER_H

#include "agent.h"

/* Start the worker thread (again, in a forked child). */
UZ_HIDDEN int worker_start(void);
/* End the worker thread and wait for it (agent thread only). */
UZ_HIDDEN void worker_stop(void);
/* In a forked child: the worker thread is gone. */
UZ_HIDDEN void worker_reset(void);
/* Wake the worker with no job (it catches up with credential changes). */
UZ_HIDDEN void worker_wake(void);
/* Is the worker thread there (started, not stopped)? */
UZ_HIDDEN int worker_running(void);

/*
 * Run @fn(@arg, 0) here and @fn(@arg, 1) on the worker thread at once
 * (both here when the worker is slow to start or absent).  Returns the
 * first non-zero result.  Agent thread only.
 */
UZ_HIDDEN int worker_split(int (*fn)(void *arg, int half), void *arg);

#endif
