/* SPDX-License-Identifier: MIT */
/* The epoll loop: accept, read one message at a time, dispatch by role. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "autoevict.h"
#include "memevents.h"
#include "client.h"
#include "closer.h"
#include "ctlreq.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "msg.h"
#include "peruid.h"
#include "procfs.h"
#include "server.h"
#include "subids.h"

#define UZ_EVENTS_MAX 64
#define UZ_ACCEPT_BATCH 64   /* accepts per wake-up */
#define UZ_RECV_BATCH 8	     /* messages per connection per wake-up */
#define UZ_FIRST_MSG_MS 10000 /* a connection says who it is by then */
#define UZ_NOTIFY_MS 30000    /* STATUS= refresh for systemd */
#define UZ_NOTIFY_MIN_MS 1000 /* and at most this often on changes */
#define UZ_PAUSE_MS 1000      /* stop accepting this long on EMFILE */

static int epfd = -1, sig_fd = -1, ev_fd = -1;
static int stopping;
static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);
static LIST_HEAD(, conn) graveyard = LIST_HEAD_INITIALIZER(graveyard);
static unsigned nconns, new_conns;
static uint64_t accept_paused_until, next_notify, last_notify;

/* epoll data for the descriptors that are not connections */
static char tag_listen, tag_signal, tag_events, tag_pressure;

const char *conn_name(const struct conn *c)
{
	static char buf[64];
	static const char *const roles[] = {
		[CONN_NEW] = "connection of",
		[CONN_AGENT] = "agent",
		[CONN_CTL] = "uzswapctl",
	};

	snprintf(buf, sizeof(buf), "%s pid %d", roles[c->role], (int)c->pid);
	return buf;
}

static int epoll_set(int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(epfd, op, fd, &ev) ? -errno : 0;
}

void conn_want_write(struct conn *c, int on)
{
	uint32_t events = on ? EPOLLOUT : EPOLLIN;

	if (c->dead || c->events == events)
		return;
	c->events = events;
	epoll_set(EPOLL_CTL_MOD, c->fd, events, c);
}

void conn_set_role(struct conn *c, enum conn_role role)
{
	if (c->role == CONN_NEW)
		new_conns--;
	c->role = role;
}

/*
 * Close a client's socket.  Messages still queued on it may carry
 * descriptors, which the kernel would release here, and the last close
 * of one can wait (closer.c); and closing with unread data makes the
 * kernel hand the peer ECONNRESET ahead of what we sent it last (an
 * error it would never see).  So: shut our reading down (the peer's
 * sends now fail), take what is queued (its descriptors go to the
 * closer), then close what is an empty socket.
 */
static void socket_close(int fd)
{
	static struct uz_msg m;
	int err, got;

	shutdown(fd, SHUT_RD);
	do {
		got = -1;
		err = msg_recv(fd, &m, &got, NULL);
		fd_discard(got);
	} while (!err || err == -EPROTO || err == -EINTR);
	close(fd);
}

void conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	/* the role's cleanup may send to (and drop) other connections */
	if (c->role == CONN_AGENT)
		client_gone(c);
	else if (c->role == CONN_CTL)
		ctl_gone(c);
	else
		new_conns--;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	socket_close(c->fd);
	c->fd = -1;
	nconns--;
	peruid_closed(c->share_uid);
	/* events for it may still be pending in this round */
	LIST_REMOVE(c, entry);
	LIST_INSERT_HEAD(&graveyard, c, entry);
}

/* Warnings a client can cause: 10 lines per user per minute (tests
 * shorten the minute with UZSWAPD_TEST_WARN_PERIOD_S). */
static unsigned warn_period_s(void)
{
	static unsigned period;

	if (!period) {
		const char *s = getenv("UZSWAPD_TEST_WARN_PERIOD_S");

		period = s && atoi(s) > 0 ? (unsigned)atoi(s) : 60;
	}
	return period;
}

void conn_drop(struct conn *c, int err, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* a flood of bad clients must not drown the lines that matter */
	log_limited_uid(UZ_LOG_WARN, 10, warn_period_s(), c->share_uid, "dropping",
			"dropping %s: %s", conn_name(c), why);
	msg_send_error(c->fd, 0, err, "%s", why);
	conn_close(c); /* reads what is queued first: see socket_close */
}

int conn_send(struct conn *c, unsigned type, uint64_t seq,
	      const void *payload, uint32_t len, int fd_pass)
{
	int err;

	if (c->dead)
		return -ECONNRESET;
	err = msg_send(c->fd, type, seq, payload, len, fd_pass);
	if (err == -EAGAIN)
		conn_drop(c, err, "not reading its socket");
	else if (err == -EPIPE || err == -ECONNRESET)
		conn_close(c);
	else if (err)
		conn_drop(c, err, "send: %s", strerror(-err));
	return err;
}

int conn_send_error(struct conn *c, uint64_t seq, int err, const char *fmt,
		    ...)
{
	char why[sizeof(((struct uz_error *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->dead)
		return -ECONNRESET;
	err = msg_send_error(c->fd, seq, err, "%s", why);
	if (err == -EPIPE || err == -ECONNRESET)
		conn_close(c);
	else if (err)
		conn_drop(c, err, "cannot send an error: %s", strerror(-err));
	return err;
}

/* Refuse a connection beyond a cap, with a reason it can print. */
static void refuse(int fd, uid_t uid)
{
	msg_send_error(fd, 0, -EUSERS, "too many connections to uzswapd");
	socket_close(fd);
	log_limited_uid(UZ_LOG_WARN, 1, warn_period_s(), uid, "refusing",
			"refusing connections (uid %u): %u open", (unsigned)uid,
			nconns);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC 0x50494446 /* pidfs, Linux 6.9 */
#endif

/* What tells the peer of @fd, process @pid, from a later process given
 * the same pid, into @c: its pidfd's inode when pidfds live in pidfs
 * (a number no other process gets until reboot), and when it started
 * (in clock ticks: two processes started within one tick read the
 * same).  Both 0 when it has ended already.  Read while the pidfd
 * (SO_PEERPIDFD, Linux 6.5) shows it alive; without one, whoever has
 * the pid now is read. */
static void peer_identity(int fd, struct conn *c)
{
	socklen_t len = sizeof(int);
	struct statfs sfs;
	struct stat st;
	int pidfd;

	c->start_ticks = 0;
	c->pid_ino = 0;
	if (procfs_start_ticks(c->pid, &c->start_ticks))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len)) {
		/* before 6.16 it fails for a peer already reaped: then the
		 * start time just read is of the pid's next owner */
		if (errno != ENOPROTOOPT && errno != EOPNOTSUPP)
			c->start_ticks = 0;
		return;
	}
	{
		struct pollfd p = { pidfd, POLLIN, 0 };

		/* readable: it has ended, and the pid may be another's */
		if (poll(&p, 1, 0) != 0)
			c->start_ticks = 0;
		else if (!fstatfs(pidfd, &sfs) && sfs.f_type == PID_FS_MAGIC &&
			 !fstat(pidfd, &st))
			c->pid_ino = (uint64_t)st.st_ino;
	}
	close(pidfd);
}

static void conn_accept(int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	uid_t share; /* whose share it counts against */
	int i, fd;

	for (i = 0; i < UZ_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered: pause, or we would spin */
				log_warn("accept: %s", strerror(errno));
				accept_paused_until = now_ms() + UZ_PAUSE_MS;
				epoll_set(EPOLL_CTL_MOD, lfd, 0, &tag_listen);
			}
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			close(fd);
			continue;
		}
		share = subids_owner(cred.uid);
		if (!peruid_allowed(share, nconns, listen_max_conns(),
				    uzd.cfg.user_connections)) {
			refuse(fd, share);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->share_uid = share;
		c->gid = cred.gid;
		c->events = EPOLLIN;
		c->deadline_ms = now_ms() + UZ_FIRST_MSG_MS;
		peer_identity(fd, c);
		if (epoll_set(EPOLL_CTL_ADD, fd, EPOLLIN, c)) {
			free(c);
			close(fd);
			continue;
		}
		LIST_INSERT_HEAD(&conns, c, entry);
		nconns++;
		peruid_opened(c->share_uid);
		new_conns++;
	}
}

static int dispatch(struct conn *c, const struct uz_msg *m, int fd,
		    char *why, size_t len)
{
	unsigned type = m->hdr.type;

	if (c->role == CONN_NEW && type == UZ_MSG_AGENT_HELLO)
		return client_hello(c, m, fd, why, len);
	fd_discard(fd);
	if (c->role == CONN_AGENT)
		return client_message(c, m, why, len);
	if (c->role == CONN_CTL || ctl_type(type))
		return ctl_message(c, m, why, len);
	snprintf(why, len, "unexpected first message (type %u)", type);
	return -EPROTO;
}

static void conn_read(struct conn *c)
{
	static struct uz_msg m;
	const char *cause;
	char why[200];
	int i, fd, err;

	for (i = 0; i < UZ_RECV_BATCH && !c->dead && c->events == EPOLLIN; i++) {
		fd = -1;
		cause = NULL;
		err = msg_recv(c->fd, &m, &fd, &cause);
		if (err)
			fd_discard(fd);
		if (err == -EAGAIN || err == -EINTR)
			return;
		if (err == -ECONNRESET) {
			conn_close(c);
			return;
		}
		if (err == -EPROTO) {
			conn_drop(c, err, "%s", cause ? cause : "malformed message");
			return;
		}
		if (err) {
			conn_drop(c, err, "receive: %s", strerror(-err));
			return;
		}
		why[0] = 0;
		err = dispatch(c, &m, fd, why, sizeof(why));
		if (err)
			conn_drop(c, err, "%s", why[0] ? why : strerror(-err));
	}
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & EPOLLOUT)
		ctl_writable(c);
	if (c->dead)
		return;
	if (c->events == EPOLLIN)
		conn_read(c); /* EPOLLHUP too: there may be a last message */
	else if (events & (EPOLLHUP | EPOLLERR))
		conn_close(c);
}

static void signal_event(void)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload();
		} else {
			log_info("%s: shutting down", strsignal(si.ssi_signo));
			log_limit_summaries(1); /* what was left out, said */
			stopping = 1;
		}
	}
}

void server_status_soon(void)
{
	uint64_t at = last_notify + UZ_NOTIFY_MIN_MS;

	if (at < next_notify)
		next_notify = at;
}

/* Run what is due; return how long epoll may sleep, in ms. */
static int timers(void)
{
	uint64_t now = now_ms(), next;
	struct conn *c, *n;

	next = client_expire(now);
	{
		uint64_t step = auto_tick(now);

		if (step < next)
			next = step;
	}
	{
		long summary_ms = log_limit_summaries(0);

		if (summary_ms >= 0 && now + (uint64_t)summary_ms + 10 < next)
			next = now + (uint64_t)summary_ms + 10;
	}
	if (closer_pending()) {
		closer_flush();
		if (closer_pending() && now + 100 < next)
			next = now + 100;
	}
	if (next_notify <= now) {
		daemon_notify_status();
		last_notify = now;
		next_notify = now + UZ_NOTIFY_MS;
	}
	if (next_notify < next)
		next = next_notify;
	for (c = new_conns ? LIST_FIRST(&conns) : NULL; c; c = n) {
		n = LIST_NEXT(c, entry); /* a drop moves c */
		if (c->role != CONN_NEW)
			continue;
		if (c->deadline_ms <= now)
			conn_drop(c, -ETIMEDOUT, "sent nothing for %d s",
				  UZ_FIRST_MSG_MS / 1000);
		else if (c->deadline_ms < next)
			next = c->deadline_ms;
	}
	if (accept_paused_until && accept_paused_until <= now) {
		accept_paused_until = 0;
		epoll_set(EPOLL_CTL_MOD, listen_fd(), EPOLLIN, &tag_listen);
	} else if (accept_paused_until && accept_paused_until < next) {
		next = accept_paused_until;
	}
	now = now_ms();
	return next > now ? (int)(next - now) : 0;
}

static void reap(void)
{
	struct conn *c;

	while ((c = LIST_FIRST(&graveyard))) {
		LIST_REMOVE(c, entry);
		free(c);
	}
}

int server_init(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sig_fd < 0 || epfd < 0)
		return -errno;
	ev_fd = memevents_init(epfd, &tag_pressure);
	if (ev_fd < 0)
		return ev_fd;
	if (epoll_set(EPOLL_CTL_ADD, ev_fd, EPOLLIN, &tag_events))
		return -errno;
	return epoll_set(EPOLL_CTL_ADD, sig_fd, EPOLLIN, &tag_signal);
}

int server_run(void)
{
	struct epoll_event ev[UZ_EVENTS_MAX];
	int i, n, err;

	err = epoll_set(EPOLL_CTL_ADD, listen_fd(), EPOLLIN, &tag_listen);
	if (err)
		return err;
	next_notify = now_ms() + UZ_NOTIFY_MS;
	auto_configure();
	while (!stopping) {
		n = epoll_wait(epfd, ev, UZ_EVENTS_MAX, timers());
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &tag_listen)
				conn_accept(listen_fd());
			else if (ev[i].data.ptr == &tag_signal)
				signal_event();
			else if (ev[i].data.ptr == &tag_events)
				memevents_dispatch();
			else if (ev[i].data.ptr == &tag_pressure)
				memevents_pressure_event();
			else if (memevents_cg_pressure_event(ev[i].data.ptr,
							     ev[i].events))
				; /* a cgroup v2's trigger */
			else
				conn_event(ev[i].data.ptr, ev[i].events);
		}
		reap();
	}
	while (!LIST_EMPTY(&conns))
		conn_close(LIST_FIRST(&conns));
	reap();
	close(epfd);
	close(sig_fd);
	close(ev_fd);
	return 0;
}
