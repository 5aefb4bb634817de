/* SPDX-License-Identifier: MIT */
/* Protocol messages over SOCK_SEQPACKET: round trips, fds, bad input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msg.h"
#include "t.h"

static int sv[2];

/* The number the next new descriptor gets. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		t_error("/dev/null: %s", strerror(errno));
	close(fd);
	return fd;
}

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Send raw bytes as one datagram with @nfd copies of @fd attached. */
static void raw_send(const void *buf, size_t len, int fd, int nfd)
{
	if (t_send_raw(sv[0], buf, len, fd, nfd) != (ssize_t)len)
		t_error("sendmsg: %s", strerror(errno));
}

/* Receiving what was just sent fails with -EPROTO and this cause. */
static void expect_proto(const char *why)
{
	struct uz_msg m;
	const char *cause = NULL;
	int fd = 7777, r;

	r = msg_recv(sv[1], &m, &fd, &cause);
	t_assert(r == -EPROTO, "expected -EPROTO (%s), got %d", why, r);
	t_check_eq(fd, -1);
	t_assert(cause && !strcmp(cause, why), "cause '%s', expected '%s'",
		 cause ? cause : "(null)", why);
}

/* The connection still works: a good message goes through. */
static void expect_good_after(void)
{
	struct uz_evict e = { .bytes = 42 };
	struct uz_msg m;
	int fd;

	t_check_eq(msg_send(sv[0], UZ_MSG_EVICT, 9, &e, sizeof(e), -1), 0);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
	t_check(m.hdr.type == UZ_MSG_EVICT && m.u.evict.bytes == 42);
}

static void test_round_trips(void)
{
	unsigned char payload[UZ_MSG_MAX];
	struct uz_msg m;
	unsigned type;
	int fd, size, i;

	t_check_eq(msg_payload_size(0), -1);
	t_check_eq(msg_payload_size(UZ_MSG_TYPE_MAX), -1);
	t_check_eq(msg_payload_size(0xffff), -1);
	t_check_eq(msg_payload_size(UZ_MSG_CTL_STATUS), 0);
	t_check_eq(msg_payload_size(UZ_MSG_CTL_STATS), 0);
	t_check_eq(msg_payload_size(UZ_MSG_ERROR), sizeof(struct uz_error));

	for (type = 1; type < UZ_MSG_TYPE_MAX; type++) {
		size = msg_payload_size(type);
		t_assert(size >= 0 && size <= UZ_MSG_MAX - 16, "type %u size %d",
			 type, size);
		for (i = 0; i < size; i++)
			payload[i] = (unsigned char)(type * 31 + i);
		t_check_eq(msg_send(sv[0], type, 1000 + type, payload, size, -1), 0);
		memset(&m, 0xee, sizeof(m));
		fd = 1234;
		t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
		t_check_eq(fd, -1);
		t_check_eq(m.hdr.version, UZ_PROTOCOL_VERSION);
		t_check_eq(m.hdr.type, type);
		t_check_eq(m.hdr.len, size);
		t_check_eq(m.hdr.seq, 1000 + type);
		t_assert(!memcmp(m.u.raw, payload, size), "type %u payload", type);
		/* the sender refuses wrong sizes */
		t_check_eq(msg_send(sv[0], type, 0, payload, size + 1, -1), -EINVAL);
		if (size)
			t_check_eq(msg_send(sv[0], type, 0, payload, size - 1, -1),
				   -EINVAL);
	}
	t_check_eq(msg_send(sv[0], 0, 0, NULL, 0, -1), -EINVAL);
	t_check_eq(msg_send(sv[0], UZ_MSG_TYPE_MAX, 0, NULL, 0, -1), -EINVAL);
	t_check_eq(msg_send(sv[0], UZ_MSG_EVICT, 0, NULL, sizeof(struct uz_evict),
			    -1), -EINVAL);
	/* and descriptors on messages that carry none */
	t_check_eq(msg_send(sv[0], UZ_MSG_CTL_STATUS, 0, NULL, 0, 0), -EINVAL);
}

static void test_fd_passing(void)
{
	struct uz_agent_hello h = { .pid = 1, .comm = "test" };
	struct uz_agent_welcome w = { .client_id = 5 };
	struct uz_msg m;
	int p[2], fd, low;
	char c = 0;

	if (pipe(p))
		t_error("pipe: %s", strerror(errno));
	t_check_eq(msg_send(sv[0], UZ_MSG_AGENT_HELLO, 1, &h, sizeof(h), p[0]), 0);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
	t_assert(fd >= 0 && fd != p[0], "received fd %d", fd);
	t_check(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	t_check(write(p[1], "x", 1) == 1);
	t_check(read(fd, &c, 1) == 1 && c == 'x');
	t_check(!strcmp(m.u.hello.comm, "test"));
	close(fd);

	t_check_eq(msg_send(sv[0], UZ_MSG_AGENT_WELCOME, 2, &w, sizeof(w), p[1]), 0);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
	t_check(fd >= 0 && m.u.welcome.client_id == 5);
	close(fd);

	/* nowhere to put it: closed, not leaked */
	low = lowest_free_fd();
	t_check_eq(msg_send(sv[0], UZ_MSG_AGENT_HELLO, 3, &h, sizeof(h), p[0]), 0);
	t_check_eq(msg_recv(sv[1], &m, NULL, NULL), 0);
	t_check_eq(lowest_free_fd(), low);
	t_check(!fd_is_open(low));
	close(p[0]);
	close(p[1]);
}

static void test_malformed(void)
{
	unsigned char big[UZ_MSG_MAX + 512];
	char want[64];
	struct uz_msg_hdr hdr;
	struct uz_evict e = { 0 };
	struct {
		struct uz_msg_hdr hdr;
		struct uz_evict e;
		unsigned char extra[8];
	} msg;
	int low, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	memset(&msg, 0, sizeof(msg));
	msg.hdr.version = UZ_PROTOCOL_VERSION;
	msg.hdr.type = UZ_MSG_EVICT;
	msg.hdr.len = sizeof(e);

	/* wrong version */
	msg.hdr.version = UZ_PROTOCOL_VERSION + 1;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), -1, 0);
	snprintf(want, sizeof(want), "protocol version %u, expected %u",
		 UZ_PROTOCOL_VERSION + 1, UZ_PROTOCOL_VERSION);
	expect_proto(want);
	msg.hdr.version = 0xffff;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), -1, 0);
	snprintf(want, sizeof(want), "protocol version 65535, expected %u",
		 UZ_PROTOCOL_VERSION);
	expect_proto(want);
	msg.hdr.version = UZ_PROTOCOL_VERSION;
	expect_good_after();

	/* unknown types */
	msg.hdr.type = 0;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), -1, 0);
	expect_proto("unknown message type");
	msg.hdr.type = UZ_MSG_TYPE_MAX;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), -1, 0);
	expect_proto("unknown message type");
	msg.hdr.type = UZ_MSG_EVICT;

	/* lengths: header says wrong, datagram says wrong, both wrong */
	msg.hdr.len = sizeof(e) - 1;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), -1, 0);
	expect_proto("wrong payload length");
	msg.hdr.len = sizeof(e);
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e) - 1, -1, 0);
	expect_proto("wrong payload length");
	raw_send(&msg, sizeof(msg), -1, 0);
	expect_proto("wrong payload length");
	msg.hdr.len = sizeof(e) + sizeof(msg.extra);
	raw_send(&msg, sizeof(msg), -1, 0);
	expect_proto("wrong payload length");
	msg.hdr.len = UINT32_MAX;
	raw_send(&msg, sizeof(msg), -1, 0);
	expect_proto("wrong payload length");
	msg.hdr.len = sizeof(e);
	expect_good_after();

	/* truncated: shorter than a header, one byte, too long */
	raw_send(&msg, sizeof(hdr) - 1, -1, 0);
	expect_proto("message shorter than its header");
	raw_send(&msg, 1, -1, 0);
	expect_proto("message shorter than its header");
	memset(big, 0, sizeof(big));
	memcpy(big, &msg.hdr, sizeof(msg.hdr));
	raw_send(big, sizeof(big), -1, 0);
	expect_proto("message too long");
	expect_good_after();

	/* a descriptor on a message that must not carry one is closed */
	low = lowest_free_fd();
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), devnull, 1);
	expect_proto("unexpected descriptor");
	t_assert(!fd_is_open(low), "fd %d left open", low);
	t_check_eq(lowest_free_fd(), low);
	/* and on any malformed message */
	msg.hdr.version = UZ_PROTOCOL_VERSION + 7;
	raw_send(&msg, sizeof(msg.hdr) + sizeof(e), devnull, 1);
	snprintf(want, sizeof(want), "protocol version %u, expected %u",
		 UZ_PROTOCOL_VERSION + 7, UZ_PROTOCOL_VERSION);
	expect_proto(want);
	t_assert(!fd_is_open(low), "fd %d left open", low);
	msg.hdr.version = UZ_PROTOCOL_VERSION;
	/* two on a hello: both closed */
	msg.hdr.type = UZ_MSG_AGENT_HELLO;
	msg.hdr.len = sizeof(struct uz_agent_hello);
	memset(big, 0, sizeof(big));
	memcpy(big, &msg.hdr, sizeof(msg.hdr));
	raw_send(big, sizeof(msg.hdr) + msg.hdr.len, devnull, 2);
	expect_proto("too many descriptors");
	t_check(!fd_is_open(low) && !fd_is_open(low + 1));
	t_check_eq(lowest_free_fd(), low);
	/* a descriptor with too short a message */
	raw_send(big, 3, devnull, 1);
	expect_proto("message shorter than its header");
	t_check_eq(lowest_free_fd(), low);
	expect_good_after();
	close(devnull);
}

static void test_error_msg(void)
{
	char longer[400];
	struct uz_msg m;
	int fd;

	t_check_eq(msg_send_error(sv[0], 77, -ENOENT, "no client %d", 42), 0);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
	t_check(m.hdr.type == UZ_MSG_ERROR && m.hdr.seq == 77);
	t_check_eq(m.u.error.err, -ENOENT);
	t_check(!strcmp(m.u.error.msg, "no client 42"));
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	t_check_eq(msg_send_error(sv[0], 78, -EIO, "%s", longer), 0);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), 0);
	t_check_eq(strlen(m.u.error.msg), sizeof(m.u.error.msg) - 1);
}

static void test_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/uz-unit-msg.XXXXXX", path[300], longp[200];
	struct uz_msg m;
	int l, c, a, fd;

	if (!mkdtemp(dir))
		t_error("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/sock", dir);
	t_check_eq(msg_connect(path), -ENOENT);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	t_check_eq(msg_connect(longp), -ENAMETOOLONG);

	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		t_error("listen: %s", strerror(errno));
	c = msg_connect(path);
	t_assert(c >= 0, "msg_connect: %d", c);
	t_check(fcntl(c, F_GETFD) & FD_CLOEXEC);
	a = accept(l, NULL, NULL);
	t_check(a >= 0);
	t_check_eq(msg_send(c, UZ_MSG_CTL_STATUS, 5, NULL, 0, -1), 0);
	t_check_eq(msg_recv(a, &m, &fd, NULL), 0);
	t_check(m.hdr.type == UZ_MSG_CTL_STATUS && m.hdr.seq == 5);
	/* the peer goes away: end of stream, and no SIGPIPE on sending */
	close(c);
	t_check_eq(msg_recv(a, &m, &fd, NULL), -ECONNRESET);
	t_check_eq(msg_send(a, UZ_MSG_CTL_STATUS, 6, NULL, 0, -1), -EPIPE);
	close(a);
	close(l);
	unlink(path);
	rmdir(dir);

	setenv(UZ_SOCKET_ENV, "/tmp/x.sock", 1);
	t_check(!strcmp(msg_socket_path(), "/tmp/x.sock"));
	setenv(UZ_SOCKET_ENV, "", 1);
	t_check(!strcmp(msg_socket_path(), UZ_SOCKET_DEFAULT));
	unsetenv(UZ_SOCKET_ENV);
	t_check(!strcmp(msg_socket_path(), UZ_SOCKET_DEFAULT));
}

int main(void)
{
	struct uz_msg m;
	int fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		t_error("socketpair: %s", strerror(errno));
	test_round_trips();
	test_fd_passing();
	test_malformed();
	test_error_msg();

	/* nothing queued on a non-blocking socket */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), -EAGAIN);
	close(sv[0]);
	t_check_eq(msg_recv(sv[1], &m, &fd, NULL), -ECONNRESET);
	close(sv[1]);
	test_connect();
	return 0;
}
