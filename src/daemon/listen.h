/* SPDX-License-Identifier: MIT */
/* uzswapd's listening socket: one daemon per path, stale sockets replaced. */
#ifndef UZD_LISTEN_H
#define UZD_LISTEN_H

/*
 * Listen on @path: create its directory, refuse when a daemon answers
 * there (-EADDRINUSE), unlink a stale socket, bind, chmod 0666.  A path
 * that exists and is no socket is -EEXIST.  Returns 0 or -errno.
 */
int listen_open(const char *path);
/* Use @fd, a listening socket systemd passed us, instead. */
void listen_adopt(int fd);
/* Close the socket, and unlink it when we created it. */
void listen_close(void);
int listen_fd(void);

/* Connections we accept at most: UZ_CONN_MAX, or fewer if the
 * descriptor limit is low (each agent costs a socket and a memfd). */
unsigned listen_max_conns(void);
/* Raise the soft RLIMIT_NOFILE to the hard one. */
void listen_raise_fd_limit(void);

#endif
