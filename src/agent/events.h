/* SPDX-License-Identifier: MIT */
/* Non-cooperative userfaultfd events: remove, unmap, remap. */
#ifndef UZ_AGENT_EVENTS_H
#define UZ_AGENT_EVENTS_H

#include <linux/userfaultfd.h>

#include "agent.h"

UZ_HIDDEN void events_handle(const struct uffd_msg *m);

#endif
