/* SPDX-License-Identifier: MIT */
/* The listening socket, the epoll loop and the connections it serves. */
#ifndef UZD_SERVER_H
#define UZD_SERVER_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

enum conn_role {
	CONN_NEW,   /* no message yet */
	CONN_AGENT, /* sent UZ_MSG_AGENT_HELLO: see client.c */
	CONN_CTL,   /* sent a UZ_MSG_CTL_*: see ctlreq.c */
};

struct client;
struct ctl;

/* One accepted connection; its first message decides its role. */
struct conn {
	int fd;
	enum conn_role role;
	pid_t pid; /* SO_PEERCRED at accept */
	uint64_t start_ticks; /* when that process started (procfs.c), or
			       * 0: gone at accept, or not known */
	uint64_t pid_ino;     /* its pidfd's inode in pidfs, or 0 */
	uid_t uid;
	uid_t share_uid; /* whose share it counts against (subids.c) */
	gid_t gid;
	int admin; /* root or admin=: 0 not looked at yet, 1 no, 2 yes */
	uint32_t events;      /* what epoll waits for */
	uint64_t deadline_ms; /* CONN_NEW: first message due by then */
	int dead;	      /* closed; freed after this round of events */
	struct client *client; /* CONN_AGENT */
	struct ctl *ctl;       /* CONN_CTL */
	LIST_ENTRY(conn) entry; /* open, or closed and not yet freed */
};

/* Block the signals uzswapd handles and set up the loop.  0 or -errno. */
int server_init(void);
/* Serve listen_fd() until SIGTERM or SIGINT, then close every
 * connection.  Returns 0 or -errno. */
int server_run(void);

/* Give @c its role, once its first message said what it is. */
void conn_set_role(struct conn *c, enum conn_role role);

/*
 * Send on @c.  A send that fails, including one that would block, drops
 * @c (a peer that does not read is not waited for).  Returns 0 or -errno.
 */
int conn_send(struct conn *c, unsigned type, uint64_t seq,
	      const void *payload, uint32_t len, int fd_pass);
/* Send UZ_MSG_ERROR (@err is -errno) as the answer to request @seq;
 * dropping @c like conn_send() when that fails. */
int conn_send_error(struct conn *c, uint64_t seq, int err, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
/* Log why, try to send UZ_MSG_ERROR (@err is -errno), and close @c. */
void conn_drop(struct conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Close @c quietly (the peer left).  Idempotent, like conn_drop(). */
void conn_close(struct conn *c);
/* Wait for @c to become writable instead of readable, or back. */
void conn_want_write(struct conn *c, int on);
/* A short name for logs: "pid 1234 (agent)". */
const char *conn_name(const struct conn *c);

/* The figures in systemd's STATUS= changed: say so within a second
 * (at most once a second, however many clients come and go). */
void server_status_soon(void);

#endif
