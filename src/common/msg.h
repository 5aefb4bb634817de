/* SPDX-License-Identifier: MIT */
/* Sending and receiving protocol messages, with an optional descriptor. */
#ifndef UZ_MSG_H
#define UZ_MSG_H

#include <stdint.h>

#include "protocol.h"

struct uz_msg {
	struct uz_msg_hdr hdr;
	union {
		uint8_t raw[UZ_MSG_MAX - sizeof(struct uz_msg_hdr)];
		struct uz_agent_hello hello;
		struct uz_agent_welcome welcome;
		struct uz_evict evict;
		struct uz_evict_progress progress;
		struct uz_evict_done done;
		struct uz_ctl_evict ctl_evict;
		struct uz_status status;
		struct uz_stats_client client;
		struct uz_stats_end end;
		struct uz_error error;
		struct uz_csum_fail csum_fail;
	} u;
};

/*
 * Send one message; @fd_pass >= 0 is attached as SCM_RIGHTS.  Retries
 * EINTR; returns 0 or -errno (-EAGAIN on a full non-blocking socket).
 */
int msg_send(int sock, unsigned type, uint64_t seq, const void *payload,
	     uint32_t len, int fd_pass);

/*
 * Receive and validate one message into @m: protocol version, known type,
 * exact payload size.  A passed descriptor goes to *fd_out (else -1); one
 * arriving on a message that must not carry one is closed.  Returns 0,
 * -ECONNRESET at end of stream, -EPROTO for a malformed message (with
 * the reason in @cause when it is not NULL), or -errno.
 */
int msg_recv(int sock, struct uz_msg *m, int *fd_out, const char **cause);
/* How msg_recv() gets rid of a descriptor it does not hand on: close()
 * unless told otherwise (uzswapd closes what clients pass off its main
 * thread: closer.c). */
void msg_set_discard(void (*discard)(int fd));

/* The name of enum uz_auto_state @state ("taking"), "?" if unknown. */
const char *uz_auto_state_name(unsigned state);

/* Send UZ_MSG_ERROR with @err and a printf-style reason. */
int msg_send_error(int sock, uint64_t seq, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Connect to the daemon's socket at @path (SOCK_SEQPACKET, CLOEXEC). */
int msg_connect(const char *path);
/* The same, giving up after @timeout_ms (-ETIMEDOUT) while the server's
 * backlog is full (it does not accept); -1 waits for ever. */
int msg_connect_within(const char *path, int timeout_ms);

/* The socket path: $UZSWAP_SOCKET, else the default. */
const char *msg_socket_path(void);

#endif
