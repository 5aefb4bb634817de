/* SPDX-License-Identifier: MIT */
/* The process ends when its last application thread does (lifeline.c). */
#ifndef UZ_AGENT_LIFELINE_H
#define UZ_AGENT_LIFELINE_H

#include "agent.h"

/* Before the agent's @threads threads are started (again, in a child);
 * on the main thread, have its end said (lifeline_wants_ticks). */
UZ_HIDDEN void lifeline_reset(unsigned threads);
/* Each agent thread, first thing: it is not the application's. */
UZ_HIDDEN void lifeline_thread_start(void);
/* The descriptor to poll (POLLIN: the watched thread ended), or -1. */
UZ_HIDDEN int lifeline_fd(void);
/* It fired: watch another application thread, or exit(0) if none is
 * left. */
UZ_HIDDEN void lifeline_check(void);
/* Whenever the agent thread wakes: has the watched main thread ended? */
UZ_HIDDEN void lifeline_tick(void);
/* Does the lifeline want the agent thread woken every second?  (It
 * watches nothing yet, or the main thread, the last of the program's,
 * is ending.) */
UZ_HIDDEN int lifeline_wants_ticks(void);

/* Have all the agent's threads said who they are?  (A thread that has
 * just started may not have yet.) */
UZ_HIDDEN int lifeline_agents_known(void);
/* Is thread @tid one of the agent's? */
UZ_HIDDEN int lifeline_is_agent_thread(pid_t tid);

#endif
