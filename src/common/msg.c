/* SPDX-License-Identifier: MIT */
/* Sending and receiving protocol messages, with an optional descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

_Static_assert(sizeof(struct uz_msg) == UZ_MSG_MAX, "uz_msg is one datagram");

/* Payload size per type; 0 for the requests that carry none. */
static const int msg_sizes[UZ_MSG_TYPE_MAX] = {
	[UZ_MSG_AGENT_HELLO] = sizeof(struct uz_agent_hello),
	[UZ_MSG_AGENT_WELCOME] = sizeof(struct uz_agent_welcome),
	[UZ_MSG_EVICT] = sizeof(struct uz_evict),
	[UZ_MSG_EVICT_PROGRESS] = sizeof(struct uz_evict_progress),
	[UZ_MSG_EVICT_DONE] = sizeof(struct uz_evict_done),
	[UZ_MSG_CTL_STATUS] = 0,
	[UZ_MSG_STATUS] = sizeof(struct uz_status),
	[UZ_MSG_CTL_STATS] = 0,
	[UZ_MSG_STATS_CLIENT] = sizeof(struct uz_stats_client),
	[UZ_MSG_STATS_END] = sizeof(struct uz_stats_end),
	[UZ_MSG_CTL_EVICT] = sizeof(struct uz_ctl_evict),
	[UZ_MSG_ERROR] = sizeof(struct uz_error),
	[UZ_MSG_CSUM_FAIL] = sizeof(struct uz_csum_fail),
	[UZ_MSG_LIMITED] = 0,
	[UZ_MSG_RESCAN] = 0,
};

int msg_payload_size(unsigned type)
{
	if (type == 0 || type >= UZ_MSG_TYPE_MAX)
		return -1;
	return msg_sizes[type];
}

/* Only these may carry a descriptor: the arena memfd and the
 * /dev/userfaultfd fd. */
static int msg_may_carry_fd(unsigned type)
{
	return type == UZ_MSG_AGENT_HELLO || type == UZ_MSG_AGENT_WELCOME;
}

int msg_send(int sock, unsigned type, uint64_t seq, const void *payload,
	     uint32_t len, int fd_pass)
{
	struct uz_msg_hdr hdr = {
		.version = UZ_PROTOCOL_VERSION,
		.type = (uint16_t)type,
		.len = len,
		.seq = seq,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct cmsghdr *cm;
	ssize_t n;

	/* refuse what the peer would refuse, here where the bug is */
	if (msg_payload_size(type) != (int)len || (len && !payload) ||
	    (fd_pass >= 0 && !msg_may_carry_fd(type)))
		return -EINVAL;
	if (fd_pass >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd_pass, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SOCK_SEQPACKET sends a record whole or not at all */
	return (size_t)n == sizeof(hdr) + len ? 0 : -EPROTO;
}

static void close_fd(int fd)
{
	close(fd);
}

static void (*discard_fd)(int fd) = close_fd;

void msg_set_discard(void (*discard)(int fd))
{
	discard_fd = discard;
}

/* Close every descriptor in @mh's SCM_RIGHTS messages but the first;
 * return how many there were and put the first in *first. */
static int msg_take_fds(struct msghdr *mh, int *first)
{
	struct cmsghdr *cm;
	int count = 0;

	*first = -1;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (count++ == 0)
				*first = fd;
			else
				discard_fd(fd);
		}
	}
	return count;
}

int msg_recv(int sock, struct uz_msg *m, int *fd_out, const char **cause)
{
	static __thread char why[64];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	/* room for all a peer can pass (SCM_MAX_FD): descriptors that do
	 * not fit are dropped by the kernel in this thread, and the last
	 * close() of one can wait (a lingering TCP socket): we take them
	 * all and give them to the discard hook */
	union {
		char buf[CMSG_SPACE(253 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	const char *bad = NULL;
	ssize_t n;
	int fd, nfd, size;

	if (fd_out)
		*fd_out = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	nfd = msg_take_fds(&mh, &fd);
	if (n == 0 && !nfd)
		return -ECONNRESET;

	size = n >= (ssize_t)sizeof(m->hdr) ? msg_payload_size(m->hdr.type) : -1;
	if (mh.msg_flags & MSG_TRUNC)
		bad = "message too long";
	else if (mh.msg_flags & MSG_CTRUNC || nfd > 1)
		bad = "too many descriptors";
	else if (n < (ssize_t)sizeof(m->hdr))
		bad = "message shorter than its header";
	else if (m->hdr.version != UZ_PROTOCOL_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u, expected %u",
			 (unsigned)m->hdr.version, UZ_PROTOCOL_VERSION);
		bad = why;
	} else if (size < 0)
		bad = "unknown message type";
	else if (m->hdr.len != (uint32_t)size ||
		 (size_t)n != sizeof(m->hdr) + m->hdr.len)
		bad = "wrong payload length";
	else if (nfd && !msg_may_carry_fd(m->hdr.type))
		bad = "unexpected descriptor";

	if (bad) {
		if (nfd)
			discard_fd(fd);
		if (cause)
			*cause = bad;
		return -EPROTO;
	}
	if (fd_out)
		*fd_out = fd;
	else if (nfd)
		discard_fd(fd);
	return 0;
}

int msg_send_error(int sock, uint64_t seq, int err, const char *fmt, ...)
{
	struct uz_error e;
	va_list ap;

	memset(&e, 0, sizeof(e));
	e.err = err;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return msg_send(sock, UZ_MSG_ERROR, seq, &e, sizeof(e), -1);
}

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int msg_connect_within(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 10000000 };
	size_t len = strlen(path);
	uint64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int s, err;

	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
			       (timeout_ms >= 0 ? SOCK_NONBLOCK : 0), 0);
	if (s < 0)
		return -errno;
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		/* a full backlog: its server is not accepting (stopped,
		 * frozen, or flooded); wait for room, not for ever */
		if (timeout_ms >= 0 && errno == EAGAIN && mono_ms() < deadline) {
			nanosleep(&pause, NULL);
			continue;
		}
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		close(s);
		return err;
	}
	if (timeout_ms >= 0 && fcntl(s, F_SETFL, 0)) {
		err = -errno;
		close(s);
		return err;
	}
	return s;
}

int msg_connect(const char *path)
{
	return msg_connect_within(path, -1);
}

const char *msg_socket_path(void)
{
	const char *p = getenv(UZ_SOCKET_ENV);

	return p && *p ? p : UZ_SOCKET_DEFAULT;
}

const char *uz_auto_state_name(unsigned state)
{
	static const char *const names[UZ_AUTO_STATE_MAX] = {
		[UZ_AUTO_OFF] = "off",		 [UZ_AUTO_TAKING] = "taking",
		[UZ_AUTO_PRESSURE] = "pressure", [UZ_AUTO_REFAULTS] = "refaults",
		[UZ_AUTO_NOTHING] = "nothing",	 [UZ_AUTO_FULL] = "full",
		[UZ_AUTO_FAILED] = "failed",	 [UZ_AUTO_LIMIT] = "limit",
		[UZ_AUTO_TARGET] = "target",	 [UZ_AUTO_RESTORED] = "restored",
		[UZ_AUTO_TRACED] = "traced",	 [UZ_AUTO_STOPPED] = "stopped",
	};

	return state < UZ_AUTO_STATE_MAX ? names[state] : "?";
}
