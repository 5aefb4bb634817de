/* SPDX-License-Identifier: MIT */
/* Closing what clients passed us without waiting on it. */
#ifndef UZ_DAEMON_CLOSER_H
#define UZ_DAEMON_CLOSER_H

/* Start the closer thread.  0 or -errno. */
int closer_start(void);
/* Close @fd, a descriptor a client passed us, without ever blocking the
 * main thread; -1 is ignored. */
void fd_discard(int fd);

/* Hand on what fd_discard() had to keep; anything left to hand on? */
void closer_flush(void);
int closer_pending(void);

#endif
