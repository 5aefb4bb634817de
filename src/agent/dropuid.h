/* SPDX-License-Identifier: MIT */
/* A uid change leaves an arena shared with other processes. */
#ifndef UZ_AGENT_DROPUID_H
#define UZ_AGENT_DROPUID_H

#include "agent.h"

/*
 * On the agent thread (LOOP_OWN_ARENA): copy what we hold into an arena
 * of our own, let go of the shared one and go on with ours.  0, or
 * -errno (nothing is let go of then).
 */
UZ_HIDDEN int dropuid_own_arena(void);

#endif
