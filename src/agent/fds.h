/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_FDS_H
#define UZ_AGENT_FDS_H

#include "agent.h"

/*
 * Move one of our descriptors up, out of the application's way, and
 * remember it as ours, so that close_range()/closefrom() of "all" the
 * application's descriptors leave it open.  Returns the new fd (the old
 * one is closed), or @fd when it can't move it.
 */
UZ_HIDDEN int fd_hide(int fd);
/* Close one of ours (forgetting it); -1 is ignored. */
UZ_HIDDEN void fd_close(int fd);
/* The application closed @fd itself (we saw POLLNVAL): forget it. */
UZ_HIDDEN void fd_forget(int fd);

#endif
