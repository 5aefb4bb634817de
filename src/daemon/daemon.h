/* SPDX-License-Identifier: MIT */
/* uzswapd's global state: the settings in force and what it shares. */
#ifndef UZD_DAEMON_H
#define UZD_DAEMON_H

#include <stdint.h>

#include "config.h"

#define UZ_CONN_MAX 4096 /* connections of all kinds, at most */

struct daemon {
	struct config cfg; /* settings in force (config + command line) */
	int uffd_dev;	   /* /dev/userfaultfd, or -1 */
	uint64_t started_ms;
};

extern struct daemon uzd;

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t now_ms(void);

/* Re-read the configuration (SIGHUP); a bad file keeps the old one. */
void daemon_reload(void);

/* Tell systemd how many clients we have and how much is evicted. */
void daemon_notify_status(void);

#endif
