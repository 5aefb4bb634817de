/* SPDX-License-Identifier: MIT */
/* Children made by a raw clone(): filled whole, then let go. */
#ifndef UZ_AGENT_RAWKID_H
#define UZ_AGENT_RAWKID_H

#include "agent.h"

/* A FORK event nobody's fork() hook expected: @ufd is the child's.
 * Fills the child from the table as it is now (call before the faults
 * read with the event are served), then closes @ufd. */
UZ_HIDDEN void rawkid_adopt(int ufd);

#endif
