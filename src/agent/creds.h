/* SPDX-License-Identifier: MIT */
/* Per-thread credential changes of the application, made on the agent's
 * threads too (see creds.c for why). */
#ifndef UZ_AGENT_CREDS_H
#define UZ_AGENT_CREDS_H

#include "agent.h"

/* Each agent thread calls creds_thread_start() first, then
 * creds_catch_up() every time it wakes. */
UZ_HIDDEN void creds_thread_start(void);
UZ_HIDDEN void creds_catch_up(void);
/* Before the agent's @threads threads are started (again, in a forked
 * child): their credentials are those of the thread starting them. */
UZ_HIDDEN void creds_reset(unsigned threads);

#endif
