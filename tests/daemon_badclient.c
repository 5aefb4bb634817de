/* SPDX-License-Identifier: MIT */
/* Malformed and misbehaving clients of uzswapd, and fake agents for tests. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "codec.h"
#include "latency.h"
#include "msg.h"
#include "t.h"

#define REPLY_MS 1000 /* the daemon answers within this */
#define ARENA_RECS 16
#define ARENA_DATA (4u << 20)

static const char *sock_path;
static uint64_t rng = 0x5eed;

static int conn(void)
{
	int s = msg_connect(sock_path);

	if (s < 0)
		t_fail("connect %s: %s", sock_path, strerror(-s));
	return s;
}

/* Receive one message within REPLY_MS; -ETIMEDOUT, or msg_recv's value. */
static int recv_reply(int s, struct uz_msg *m, int *fd)
{
	struct pollfd p = { .fd = s, .events = POLLIN };

	*fd = -1;
	if (poll(&p, 1, REPLY_MS) != 1)
		return -ETIMEDOUT;
	return msg_recv(s, m, fd, NULL);
}

static void raw_hdr(int s, unsigned version, unsigned type, uint32_t len,
		    size_t pad)
{
	/* the header, then @pad zero bytes (a struct uz_status at most) */
	char buf[sizeof(struct uz_msg_hdr) + 256] = { 0 };
	struct uz_msg_hdr h = { .version = version, .type = type, .len = len };

	t_assert(pad <= sizeof(buf) - sizeof(h), "raw_hdr: pad %zu too large", pad);
	memcpy(buf, &h, sizeof(h));
	t_send_raw(s, buf, sizeof(h) + pad, -1, 0);
}

/* A well-formed arena in a memfd; its size in *size. */
static int arena_make(uint64_t *size)
{
	struct uz_arena_hdr h;
	int fd, err;

	err = arena_layout(&h, ARENA_RECS, ARENA_DATA);
	if (err)
		t_error("arena_layout: %s", strerror(-err));
	h.owner_pid = getpid();
	fd = memfd_create("uzswap-test", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, h.size) ||
	    pwrite(fd, &h, sizeof(h), 0) != sizeof(h))
		t_error("memfd: %s", strerror(errno));
	*size = h.size;
	return fd;
}

static void hello_send(int s, uint32_t pid, int fd, uint64_t size,
		       const char *comm)
{
	struct uz_agent_hello h = { .pid = pid, .arena_size = size };

	memcpy(h.comm, comm, strnlen(comm, sizeof(h.comm)));
	if (msg_send(s, UZ_MSG_AGENT_HELLO, 1, &h, sizeof(h), fd))
		t_fail("send hello");
}

/* Connect as an agent named @comm; returns the socket, welcomed. */
static int agent_connect(const char *comm, int *arena_fd)
{
	struct uz_msg m;
	uint64_t size;
	int s = conn(), afd = arena_make(&size), fd, err;

	hello_send(s, getpid(), afd, size, comm);
	err = recv_reply(s, &m, &fd);
	if (err || m.hdr.type != UZ_MSG_AGENT_WELCOME)
		t_fail("agent %s: no welcome (%s, type %u: %s)", comm,
		       strerror(-err), err ? 0 : m.hdr.type,
		       !err && m.hdr.type == UZ_MSG_ERROR ? m.u.error.msg : "");
	t_check(m.u.welcome.client_id != 0);
	t_check(m.u.welcome.codec == UZ_CODEC_LZ4 ||
		m.u.welcome.codec == UZ_CODEC_ZSTD);
	t_check(!!(m.u.welcome.flags & UZ_WELCOME_UFFD_DEV) == (fd >= 0));
	if (fd >= 0)
		close(fd);
	if (arena_fd)
		*arena_fd = afd;
	else
		close(afd);
	return s;
}

/* The daemon answers UZ_MSG_CTL_STATUS on a fresh connection, promptly. */
static void check_alive(const char *after)
{
	uint64_t t0 = t_now_ns();
	struct uz_msg m;
	int s = conn(), fd, err, st;
	pid_t pid;

	if (msg_send(s, UZ_MSG_CTL_STATUS, 7, NULL, 0, -1))
		t_fail("after %s: cannot send a status request", after);
	err = recv_reply(s, &m, &fd);
	t_assert(!err && m.hdr.type == UZ_MSG_STATUS && m.hdr.seq == 7,
		 "after %s: no status reply (%s)", after, strerror(-err));
	t_assert(t_now_ns() - t0 < REPLY_MS * 1000000ull,
		 "after %s: status took %llu ms", after,
		 (unsigned long long)(t_now_ns() - t0) / 1000000);
	close(s);
	/* in a child: this process may be holding an agent connection */
	pid = fork();
	if (!pid) {
		close(agent_connect("wellformed", NULL));
		_exit(0);
	}
	t_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 !WEXITSTATUS(st), "after %s: a well-formed agent failed", after);
}

/*
 * The daemon hangs up on @s within REPLY_MS, after one UZ_MSG_ERROR.  A
 * datagram that reached it after it had read everything makes the kernel
 * report ECONNRESET before the queued error: so read on once after it.
 */
static void expect_dropped(int s, const char *what)
{
	int errors = 0, resets = 0, fd, err;
	struct uz_msg m;

	while (resets < 2) {
		err = recv_reply(s, &m, &fd);
		if (fd >= 0)
			close(fd);
		t_assert(err != -ETIMEDOUT || resets, "%s: not dropped", what);
		if (err == -ECONNRESET || err == -ETIMEDOUT)
			resets++;
		else if (!err && m.hdr.type == UZ_MSG_ERROR)
			errors++;
	}
	t_assert(errors == 1, "%s: %d error messages before the hang-up",
		 what, errors);
	close(s);
}

/* Send one request on @s and expect UZ_MSG_ERROR -@err back. */
static void expect_error(int s, unsigned type, const void *p, uint32_t len,
			 int err, const char *text)
{
	struct uz_msg m;
	int fd, rc;

	t_check(!msg_send(s, type, 3, p, len, -1));
	rc = recv_reply(s, &m, &fd);
	t_assert(!rc && m.hdr.type == UZ_MSG_ERROR && m.hdr.seq == 3,
		 "expected error '%s', got %s / type %u", text,
		 strerror(-rc), rc ? 0 : m.hdr.type);
	t_assert(m.u.error.err == err && strstr(m.u.error.msg, text),
		 "expected error %d '%s', got %d '%s'", err, text,
		 m.u.error.err, m.u.error.msg);
}

/* --- one malformed client each; the daemon must drop it and go on */

static void bad_version(int s) { raw_hdr(s, 99, UZ_MSG_CTL_STATUS, 0, 0); }
static void bad_type(int s) { raw_hdr(s, UZ_PROTOCOL_VERSION, 200, 0, 0); }
static void type_zero(int s) { raw_hdr(s, UZ_PROTOCOL_VERSION, 0, 0, 0); }
static void reply_first(int s) { raw_hdr(s, UZ_PROTOCOL_VERSION, UZ_MSG_STATUS, sizeof(struct uz_status), sizeof(struct uz_status)); }
static void wrong_len(int s) { raw_hdr(s, UZ_PROTOCOL_VERSION, UZ_MSG_CTL_STATUS, 8, 8); }
static void len_lies(int s) { raw_hdr(s, UZ_PROTOCOL_VERSION, UZ_MSG_CTL_EVICT, sizeof(struct uz_ctl_evict), 0); }
static void short_msg(int s) { t_send_raw(s, "\1\0\6", 3, -1, 0); }

static void oversized(int s)
{
	static char big[2 * UZ_MSG_MAX];
	struct uz_msg_hdr h = { UZ_PROTOCOL_VERSION, UZ_MSG_CTL_STATUS, 0, 0 };

	memcpy(big, &h, sizeof(h));
	t_send_raw(s, big, sizeof(big), -1, 0);
}

static void random_bytes(int s)
{
	char buf[5000];
	int i;

	for (i = 0; i < 20; i++) {
		t_rand_fill(buf, sizeof(buf), &rng);
		buf[0] |= 0x80; /* never a valid version by chance */
		t_send_raw(s, buf, 1 + t_rand(&rng) % sizeof(buf), -1, 0);
	}
}

static void hello_no_fd(int s) { hello_send(s, getpid(), -1, 4096, "nofd"); }

static void hello_pipe(int s)
{
	int p[2];

	t_check(!pipe(p));
	hello_send(s, getpid(), p[0], 4096, "pipe");
	close(p[0]);
	close(p[1]);
}

static void hello_other_pid(int s)
{
	uint64_t size;
	int fd = arena_make(&size);

	hello_send(s, 1, fd, size, "otherpid");
	close(fd);
}

static void hello_garbage(int s)
{
	char junk[65536];
	int fd = memfd_create("uzswap-junk", MFD_CLOEXEC);

	t_rand_fill(junk, sizeof(junk), &rng);
	t_check(fd >= 0 && pwrite(fd, junk, sizeof(junk), 0) == sizeof(junk));
	hello_send(s, getpid(), fd, sizeof(junk), "garbage");
	close(fd);
}

static void hello_size_lies(int s)
{
	uint64_t size;
	int fd = arena_make(&size);

	hello_send(s, getpid(), fd, size + 4096, "sizelies");
	close(fd);
}

static void hello_tiny(int s)
{
	int fd = memfd_create("uzswap-tiny", MFD_CLOEXEC);

	t_check(fd >= 0 && !ftruncate(fd, 100));
	hello_send(s, getpid(), fd, 100, "tiny");
	close(fd);
}

static void hello_two_fds(int s)
{
	struct uz_msg_hdr h = { UZ_PROTOCOL_VERSION, UZ_MSG_AGENT_HELLO,
				sizeof(struct uz_agent_hello), 1 };
	char buf[sizeof(h) + sizeof(struct uz_agent_hello)] = { 0 };
	struct uz_agent_hello *hello = (void *)(buf + sizeof(h));
	uint64_t size;
	int fd = arena_make(&size);

	hello->pid = getpid();
	hello->arena_size = size;
	memcpy(buf, &h, sizeof(h));
	t_send_raw(s, buf, sizeof(buf), fd, 2);
	close(fd);
}

/*
 * A descriptor whose last close() blocks: a TCP socket with unsent data
 * (its peer, never accepted, does not read) and an hour of SO_LINGER.
 * The daemon holds the last reference once our copy is closed while the
 * message is in flight; its close once froze uzswapd for good.  The
 * listener stays open until this program ends (then the close ends).
 */
static void send_lingering(int s, int status_with_three)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { 1, 3600 };
	static char junk[65536];
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c, small = 4096, st;
	uint64_t last;
	pid_t pid;

	/* a small receive window (the embryonic socket inherits it): the
	 * sender's data then stays unsent */
	t_check(l >= 0 && !setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	t_check(!bind(l, (struct sockaddr *)&a, sizeof(a)) &&
		!listen(l, 1) && !getsockname(l, (struct sockaddr *)&a, &al));
	/* sent by a child that exits at once: a close at exit does not
	 * linger, and the daemon's, then the last, would */
	pid = fork();
	t_check(pid >= 0);
	if (!pid) {
		struct uz_msg_hdr h = { UZ_PROTOCOL_VERSION, UZ_MSG_CTL_STATUS, 0, 1 };

		c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		t_check(c >= 0 && !setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
		t_check(!connect(c, (struct sockaddr *)&a, sizeof(a)));
		t_check(!fcntl(c, F_SETFL, O_NONBLOCK));
		for (last = t_now_ns(); t_now_ns() - last < 300000000ull;)
			if (write(c, junk, sizeof(junk)) > 0)
				last = t_now_ns();
			else
				usleep(10000);
		t_check(!fcntl(c, F_SETFL, 0));
		t_check(!setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
		if (status_with_three) {
			/* /dev/null twice first: the socket is among the
			 * ones that did not fit */
			int fds[3] = { open("/dev/null", O_RDONLY), 0, c };
			char cb[CMSG_SPACE(sizeof(fds))] = { 0 };
			struct iovec iov = { &h, sizeof(h) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
					     .msg_control = cb, .msg_controllen = sizeof(cb) };
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

			fds[1] = fds[0];
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(fds));
			memcpy(CMSG_DATA(cm), fds, sizeof(fds));
			t_check(sendmsg(s, &mh, 0) == sizeof(h));
		} else
			hello_send(s, getpid(), c, 4096, "linger");
		_exit(0);
	}
	t_check(waitpid(pid, &st, 0) == pid);
	/* l stays open: until this program ends, that close would wait */
}

static void hello_linger(int s) { send_lingering(s, 0); }
/* three at once, the socket last: the daemon once had room for one,
 * and the kernel dropped the others (the socket's last reference) in
 * its one thread */
static void status_linger3(int s) { send_lingering(s, 1); }

/*
 * A file whose path reads like a memfd's ("/memfd:..."): anyone can make
 * one in a mount namespace of their own, on FUSE too, whose reads would
 * stall the daemon.  Made here at the real root (as root), on whatever
 * the root filesystem is; the daemon must see it is not shmem.
 */
static void hello_fake_memfd(int s)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/memfd:uzswap-spoof-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) { /* not root: the same as any wrong kind */
		hello_pipe(s);
		return;
	}
	unlink(path);
	t_check(!ftruncate(fd, 4096));
	hello_send(s, getpid(), fd, 4096, "fakememfd");
	close(fd);
}

/* A status request, then an agent's hello on the same connection. */
static void ctl_then_hello(int s)
{
	uint64_t size;
	int fd = arena_make(&size);

	t_check(!msg_send(s, UZ_MSG_CTL_STATUS, 1, NULL, 0, -1));
	hello_send(s, getpid(), fd, size, "ctlhello");
	close(fd);
}

static void ctl_sends_done(int s)
{
	struct uz_evict_done d = { 0 };

	t_check(!msg_send(s, UZ_MSG_CTL_STATUS, 1, NULL, 0, -1));
	t_check(!msg_send(s, UZ_MSG_EVICT_DONE, 1, &d, sizeof(d), -1));
}

static const struct bad_client {
	const char *name;
	void (*send)(int s);
} bad_clients[] = {
	{ "wrong protocol version", bad_version },
	{ "unknown message type", bad_type },
	{ "message type 0", type_zero },
	{ "a reply as first message", reply_first },
	{ "wrong payload length", wrong_len },
	{ "length field larger than the datagram", len_lies },
	{ "datagram shorter than a header", short_msg },
	{ "oversized datagram", oversized },
	{ "random bytes", random_bytes },
	{ "hello without a descriptor", hello_no_fd },
	{ "hello with a pipe", hello_pipe },
	{ "hello with another pid", hello_other_pid },
	{ "hello with a garbage arena", hello_garbage },
	{ "hello whose size lies", hello_size_lies },
	{ "hello with a memfd smaller than a header", hello_tiny },
	{ "hello with two descriptors", hello_two_fds },
	{ "hello with a TCP socket that lingers on close", hello_linger },
	{ "status request with three lingering sockets", status_linger3 },
	{ "hello with a file named like a memfd", hello_fake_memfd },
	{ "hello on a uzswapctl connection", ctl_then_hello },
	{ "uzswapctl sending an agent message", ctl_sends_done },
};

/* An agent that goes wrong after its welcome. */
static void agent_misbehaves(void)
{
	struct uz_evict_done d = { 0 };
	uint64_t size;
	int s, fd;

	s = agent_connect("secondhello", NULL);
	fd = arena_make(&size);
	hello_send(s, getpid(), fd, size, "secondhello");
	close(fd);
	expect_dropped(s, "a second hello");
	check_alive("a second hello");

	/* an agent of an older release (the daemon upgraded under it) is
	 * told so, not that its arena is garbage */
	{
		struct uz_arena_hdr h;
		struct uz_msg m;
		int afd = arena_make(&size), rfd, err;

		t_check(pread(afd, &h, sizeof(h), 0) == sizeof(h));
		h.version = UZ_ARENA_VERSION - 1;
		t_check(pwrite(afd, &h, sizeof(h), 0) == sizeof(h));
		s = conn();
		hello_send(s, getpid(), afd, size, "oldrelease");
		close(afd);
		err = recv_reply(s, &m, &rfd);
		t_assert(!err && m.hdr.type == UZ_MSG_ERROR &&
			 strstr(m.u.error.msg, "restart the program"),
			 "an arena of version %u: %s", UZ_ARENA_VERSION - 1,
			 !err && m.hdr.type == UZ_MSG_ERROR ? m.u.error.msg : "no error");
		close(s);
		check_alive("an agent of an older release");
	}

	s = agent_connect("agentctl", NULL);
	t_check(!msg_send(s, UZ_MSG_CTL_STATUS, 1, NULL, 0, -1));
	expect_dropped(s, "an agent sending a status request");
	check_alive("an agent sending a status request");

	/* an answer to no request is ignored, not a reason to drop */
	s = agent_connect("lateanswer", NULL);
	t_check(!msg_send(s, UZ_MSG_EVICT_DONE, 42, &d, sizeof(d), -1));
	check_alive("an unsolicited answer");
	t_check(!msg_send(s, UZ_MSG_EVICT_DONE, 43, &d, sizeof(d), -1));
	close(s);
}

/* Clients that stall or die half way. */
static void clients_stall(void)
{
	uint64_t size;
	int idle, s, fd, st;
	pid_t pid;

	idle = conn(); /* never sends: must not hold anyone up */
	check_alive("a silent connection");

	pid = fork();
	if (!pid) { /* a header that promises more, then gone */
		raw_hdr(conn(), UZ_PROTOCOL_VERSION, UZ_MSG_AGENT_HELLO,
			sizeof(struct uz_agent_hello), 0);
		_exit(0);
	}
	t_check(waitpid(pid, &st, 0) == pid);
	check_alive("a half message and exit");

	pid = fork();
	if (!pid) { /* hello, then exit before the welcome */
		s = conn();
		fd = arena_make(&size);
		hello_send(s, getpid(), fd, size, "hellobye");
		_exit(0);
	}
	t_check(waitpid(pid, &st, 0) == pid);
	check_alive("a hello and exit");
	close(idle);
}

/* A control client that asks and asks and never reads the answers:
 * dropped once its socket is full, the daemon never waiting on it. */
static void ctl_deaf(void)
{
	int s = conn(), i, err = 0;

	t_check(!fcntl(s, F_SETFL, O_NONBLOCK));
	for (i = 0; i < 200000; i++) {
		err = msg_send(s, UZ_MSG_CTL_STATUS, (uint64_t)i, NULL, 0, -1);
		if (err == -EAGAIN) {
			/* the daemon is behind: give it a moment */
			poll(NULL, 0, 1);
			continue;
		}
		if (err)
			break;
	}
	t_assert(err == -EPIPE || err == -ECONNRESET,
		 "a deaf client was not dropped after %d requests (%s)", i,
		 strerror(-err));
	close(s);
	check_alive("a client that never reads its answers");
}

/* Requests the daemon refuses with an answer, keeping the connection. */
static void ctl_refusals(void)
{
	struct uz_ctl_evict e = { .pid = getpid() };
	struct uz_msg m;
	uint64_t size;
	int s, a, b, fd;

	a = agent_connect("refusals", NULL);
	b = conn(); /* a live duplicate of our pid */
	fd = arena_make(&size);
	hello_send(b, getpid(), fd, size, "duplicate");
	close(fd);
	expect_dropped(b, "a second agent of one pid");

	s = conn();
	expect_error(s, UZ_MSG_CTL_EVICT, &e, sizeof(e), -EINVAL, "0 bytes");
	e.flags = 0x80;
	expect_error(s, UZ_MSG_CTL_EVICT, &e, sizeof(e), -EINVAL, "flags");
	/* the daemon's own flags: an automatic step, its refill settings */
	e.flags = UZ_EVICT_ALL | UZ_EVICT_COLD;
	expect_error(s, UZ_MSG_CTL_EVICT, &e, sizeof(e), -EINVAL, "flags");
	e.flags = UZ_EVICT_ALL | UZ_EVICT_REFILL;
	expect_error(s, UZ_MSG_CTL_EVICT, &e, sizeof(e), -EINVAL, "flags");
	e.flags = UZ_EVICT_ALL;
	e.pid = 999999;
	expect_error(s, UZ_MSG_CTL_EVICT, &e, sizeof(e), -ENOENT,
		     "no uzswap client with pid 999999");
	t_check(!msg_send(s, UZ_MSG_CTL_STATUS, 9, NULL, 0, -1));
	t_check(!recv_reply(s, &m, &fd) && m.hdr.type == UZ_MSG_STATUS);
	t_check(m.u.status.clients >= 1);
	close(s);
	close(a);
}

/* A comm that fills all 16 bytes comes back NUL-terminated. */
static void comm_unterminated(void)
{
	struct uz_msg m;
	int a = agent_connect("AAAAAAAAAAAAAAAA", NULL), s = conn(), fd;
	int found = 0;

	t_check(!msg_send(s, UZ_MSG_CTL_STATS, 5, NULL, 0, -1));
	for (;;) {
		t_check(!recv_reply(s, &m, &fd));
		if (m.hdr.type == UZ_MSG_STATS_END)
			break;
		t_check(m.hdr.type == UZ_MSG_STATS_CLIENT && m.hdr.seq == 5);
		if (m.u.client.pid == (uint32_t)getpid()) {
			t_assert(!strcmp(m.u.client.comm, "AAAAAAAAAAAAAAA"),
				 "comm %.16s", m.u.client.comm);
			found = 1;
		}
	}
	t_check(found && m.u.end.clients >= 1);
	close(s);
	close(a);
}

/* The keeper of a handed-on connection: 0 once the daemon drops it,
 * 1 if it still holds it after 15 s. */
static int keep_until_dropped(int s)
{
	for (int t = 0; t < 150; t++) {
		struct pollfd p = { s, POLLIN, 0 };
		struct uz_msg m;
		int fd = -1;

		if (poll(&p, 1, 100) != 1)
			continue;
		if (recv_reply(s, &m, &fd))
			return 0; /* hung up */
		if (fd >= 0)
			close(fd);
	}
	return 1;
}

/*
 * A connection handed on to a forked child after its process ended,
 * its pid then given to a new process (forced through ns_last_pid, as
 * root): the new process's HELLO is welcome and the stale connection is
 * dropped.  (A review found the new one refused, and the automatic loop
 * holding the pid's new owner for the stale client.)
 */
static void handed_on(void)
{
	int pid_pipe[2], st, tries;
	pid_t p, keeper = 0, q;
	FILE *f;

	if (access("/proc/sys/kernel/ns_last_pid", W_OK)) {
		printf("handed-on connection: not run (no ns_last_pid to write)\n");
		return;
	}
	/* the keeper outlives its parent: ours to reap, with its word */
	t_check(!prctl(PR_SET_CHILD_SUBREAPER, 1));
	t_check(!pipe(pid_pipe));
	p = fork();
	t_check(p >= 0);
	if (!p) {
		int s = agent_connect("handedon", NULL);
		pid_t k = fork();

		if (!k)
			_exit(keep_until_dropped(s));
		t_check(write(pid_pipe[1], &k, sizeof(k)) == sizeof(k));
		_exit(0);
	}
	t_check(read(pid_pipe[0], &keeper, sizeof(keeper)) == sizeof(keeper));
	t_check(waitpid(p, &st, 0) == p && WIFEXITED(st) && !WEXITSTATUS(st));
	/* the pid again, for a new process (another may take it first).
	 * The counter is set back only for that fork and put forward again
	 * at once: left behind, every process on the machine got a pid that
	 * had just been used, and a test running beside this one that
	 * killed a pid it had noted, its process long gone, killed another
	 * (daemon_auto's stopped agent died in a CI run) */
	for (tries = 0; tries < 20; tries++) {
		int last = (int)p;

		f = fopen("/proc/sys/kernel/ns_last_pid", "r+");
		t_check(f);
		t_check(fscanf(f, "%d", &last) == 1);
		rewind(f);
		fprintf(f, "%d", (int)p - 1);
		fclose(f);
		q = fork();
		t_check(q >= 0);
		if (q) {
			f = fopen("/proc/sys/kernel/ns_last_pid", "w");
			t_check(f);
			fprintf(f, "%d", last > q ? last : q);
			fclose(f);
		}
		if (!q) {
			if (getpid() == p)
				close(agent_connect("newowner", NULL)); /* welcome */
			_exit(getpid() == p ? 0 : 3);
		}
		t_check(waitpid(q, &st, 0) == q && WIFEXITED(st));
		if (WEXITSTATUS(st) != 3)
			break;
	}
	if (tries == 20) {
		printf("handed-on connection: not run (pid %d was never given "
		       "again)\n", (int)p);
		kill(keeper, SIGKILL);
		waitpid(keeper, &st, 0);
	} else {
		t_assert(WEXITSTATUS(st) == 0, "the new owner of pid %d was not "
			 "welcome (status %#x)", (int)p, st);
		t_check(waitpid(keeper, &st, 0) == keeper && WIFEXITED(st));
		t_assert(!WEXITSTATUS(st), "the handed-on connection was not "
			 "dropped in 15 s");
	}
	t_check(!prctl(PR_SET_CHILD_SUBREAPER, 0));
	close(pid_pipe[0]);
	close(pid_pipe[1]);
}

static int run_malformed(void)
{
	size_t i;

	check_alive("start");
	for (i = 0; i < sizeof(bad_clients) / sizeof(bad_clients[0]); i++) {
		int s = conn();

		bad_clients[i].send(s);
		expect_dropped(s, bad_clients[i].name);
		check_alive(bad_clients[i].name);
	}
	agent_misbehaves();
	clients_stall();
	ctl_refusals();
	ctl_deaf();
	comm_unterminated();
	handed_on();
	printf("%zu malformed clients dropped, daemon still serving\n", i);
	return 0;
}

/*
 * More connections than the daemon takes (run it with a low descriptor
 * limit): the ones beyond get an error and are closed, the others are
 * served, and once they are gone the daemon takes new ones again.
 */
static int run_flood(int n)
{
	int s[n], i, fd, err, served = 0, refused = 0;
	struct uz_msg m;

	for (i = 0; i < n; i++)
		s[i] = conn();
	for (i = 0; i < n; i++) {
		msg_send(s[i], UZ_MSG_CTL_STATUS, 1, NULL, 0, -1);
		err = recv_reply(s[i], &m, &fd);
		if (!err && m.hdr.type == UZ_MSG_STATUS)
			served++;
		else if (!err && m.hdr.type == UZ_MSG_ERROR &&
			 strstr(m.u.error.msg, "too many connections"))
			refused++;
		else
			t_fail("connection %d: neither served nor refused", i);
	}
	t_assert(served && refused, "%d served, %d refused", served, refused);
	for (i = 0; i < n; i++)
		close(s[i]);
	usleep(100000); /* let the daemon see them go */
	check_alive("a flood of connections");
	printf("%d connections: %d served, %d refused\n", n, served, refused);
	return 0;
}

/* --- fake agents for the eviction tests in daemon_badclient.sh */

/* Where the counters of holder 0 (not forked) are in arena @afd. */
static off_t arena_stats_at(int afd)
{
	struct uz_arena_hdr h;

	t_check(pread(afd, &h, sizeof(h), 0) == sizeof(h));
	return arena_stats_off(&h, 0);
}

/* Counters an agent would have after evicting @bytes into @stored. */
static void arena_account(int afd, uint64_t bytes, uint64_t stored)
{
	struct uz_client_stats st;
	off_t off = arena_stats_at(afd);
	int i;

	t_check(pread(afd, &st, sizeof(st), off) == sizeof(st));
	st.registered_bytes = 2ull << 30;
	st.evicted_bytes += bytes;
	st.stored_bytes += stored;
	st.pool_bytes += stored;
	st.faults = 100;
	/* a lie no list can hold: shown, and counted, as at most 128 MB */
	st.inactive_bytes = UINT64_MAX - 1;
	for (i = 0; i < 100; i++)
		latency_add(st.fault_lat, 12000);
	t_check(pwrite(afd, &st, sizeof(st), off) == sizeof(st));
}

/*
 * The counters of an agent that lies about everything: more memory than
 * there is, evicted and back again, refaults at every age.
 */
static void arena_lie(int afd)
{
	struct uz_client_stats st;
	int i;

	memset(&st, 0xff, sizeof(st));
	for (i = 0; i < UZ_LAT_BUCKETS; i++)
		st.refault_age_ms[i] = UINT64_MAX / UZ_LAT_BUCKETS;
	t_check(pwrite(afd, &st, sizeof(st), arena_stats_at(afd)) == sizeof(st));
}

static int run_agent(const char *mode)
{
	struct uz_evict_progress p;
	struct uz_evict_done d;
	struct uz_msg m;
	uint64_t target;
	int s, afd, fd, err;

	prctl(PR_SET_NAME, "fakeagent");
	s = agent_connect("fakeagent", &afd);
	arena_account(afd, 0, 0);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!(err = msg_recv(s, &m, &fd, NULL))) {
		if (m.hdr.type != UZ_MSG_EVICT)
			t_fail("agent: unexpected message %u", m.hdr.type);
		if (!strcmp(mode, "silent"))
			continue;
		if (!strcmp(mode, "die-early"))
			_exit(0);
		if (!strcmp(mode, "lie")) {
			/* done at once, having taken everything there is */
			memset(&d, 0xff, sizeof(d));
			d.err = 0;
			arena_lie(afd);
			t_check(!msg_send(s, UZ_MSG_EVICT_DONE, m.hdr.seq, &d,
					  sizeof(d), -1));
			printf("lied once\n");
			fflush(stdout);
			continue;
		}
		if (!strcmp(mode, "fail")) {
			/* as an agent that cannot read its pagemap */
			memset(&d, 0, sizeof(d));
			d.err = -EACCES;
			t_check(!msg_send(s, UZ_MSG_EVICT_DONE, m.hdr.seq, &d,
					  sizeof(d), -1));
			printf("failed one\n");
			fflush(stdout);
			continue;
		}
		target = m.u.evict.flags & UZ_EVICT_ALL ? 1ull << 30 :
							  m.u.evict.bytes;
		p.done_bytes = target / 2;
		p.target_bytes = target;
		t_check(!msg_send(s, UZ_MSG_EVICT_PROGRESS, m.hdr.seq, &p,
				  sizeof(p), -1));
		if (!strcmp(mode, "die"))
			_exit(0);
		usleep(100000);
		memset(&d, 0, sizeof(d));
		d.blocks = target / UZ_BLOCK_SIZE;
		d.bytes = target;
		d.stored = target / 1024 * 312;
		d.usec = 840000;
		arena_account(afd, d.bytes, d.stored);
		t_check(!msg_send(s, UZ_MSG_EVICT_DONE, m.hdr.seq, &d,
				  sizeof(d), -1));
		if (!strcmp(mode, "die-done"))
			_exit(0);
	}
	return err == -ECONNRESET ? 0 : 1;
}

/*
 * Connect, then exec a setuid-root @prog while a child keeps the socket
 * and says hello for us: the pid the daemon knows from the connection
 * now runs with root's capabilities.  Prints what the daemon answered;
 * exit 1 when it handed out its userfaultfd device.
 */
static int run_exec_hello(const char *prog)
{
	int s = conn(), fd = -1, err, rc;
	pid_t parent = getpid(), c = fork();
	struct uz_msg m;
	uint64_t size = 0;
	int afd;

	t_check(c >= 0);
	if (c) {
		execl(prog, prog, (char *)NULL);
		t_error("exec %s: %s", prog, strerror(errno));
	}
	usleep(500000); /* the parent is the setuid program by now */
	afd = arena_make(&size);
	hello_send(s, (uint32_t)parent, afd, size, "exechello");
	err = recv_reply(s, &m, &fd);
	if (!err && m.hdr.type == UZ_MSG_AGENT_WELCOME) {
		printf("welcomed, %s\n", fd >= 0 ? "with the device" : "no device");
		rc = fd >= 0;
	} else {
		printf("refused: %s\n", !err && m.hdr.type == UZ_MSG_ERROR ?
		       m.u.error.msg : strerror(-err));
		rc = 0;
	}
	fflush(stdout);
	kill(parent, SIGKILL);
	_exit(rc);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		t_error("usage: %s SOCKET malformed | agent evict|silent|die|fail|lie | "
			"flood N | exec-hello SETUID-PROG",
			argv[0]);
	sock_path = argv[1];
	if (!strcmp(argv[2], "malformed"))
		return run_malformed();
	if (!strcmp(argv[2], "agent") && argc == 4)
		return run_agent(argv[3]);
	if (!strcmp(argv[2], "exec-hello") && argc == 4)
		return run_exec_hello(argv[3]);
	if (!strcmp(argv[2], "flood") && argc == 4)
		return run_flood(atoi(argv[3]));
	t_error("unknown mode %s", argv[2]);
}
