/* SPDX-License-Identifier: MIT */
/* The two bits of the systemd protocol uzswapd speaks, without libsystemd. */
#ifndef UZD_SYSTEMD_H
#define UZD_SYSTEMD_H

/* Send @state ("READY=1", "STATUS=...") to $NOTIFY_SOCKET, if set. */
void systemd_notify(const char *state);

/*
 * The listening socket systemd passed us (socket activation), or -1.
 * Clears the LISTEN_* variables either way.
 */
int systemd_listen_fd(void);

#endif
