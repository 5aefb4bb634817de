/* SPDX-License-Identifier: MIT */
/* A uid change leaves an arena shared with other processes. */
#ifndef UZ_AGENT_DROPUID_H
#define UZ_AGENT_DROPUID_H

#include "agent.h"

/*
 * On the agent thread (LOOP_OWN_ARENA): bring back everything, let go of
 * the shared arena and go on with one of our own.  0, or -errno when
 * something could not come back (nothing is let go of then).
 */
UZ_HIDDEN int dropuid_own_arena(void);

#endif
