/* SPDX-License-Identifier: MIT */
/* uzswapd's listening socket: one daemon per path, stale sockets replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"

#define UZ_FDS_RESERVED 64 /* epoll, signalfd, uffd, logs, slack */

static int lfd = -1;
static int created; /* we bound it, so we unlink it */
static struct sockaddr_un addr = { .sun_family = AF_UNIX };

int listen_fd(void)
{
	return lfd;
}

/* mkdir -p of @path's directory; the last one made gets mode 0755
 * whatever the umask, or unprivileged agents could not reach us. */
static int make_parents(const char *path)
{
	char dir[sizeof(addr.sun_path)];
	char *p;

	strcpy(dir, path);
	for (p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (!mkdir(dir, 0755)) {
			if (chmod(dir, 0755))
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* Does a listener answer at @addr?  A full backlog is an answer too. */
static int answers(void)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	ret = !ret || errno == EAGAIN || errno == EPROTOTYPE;
	close(fd);
	return ret;
}

int listen_open(const char *path)
{
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	err = make_parents(path);
	if (err)
		return err;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		err = answers();
		if (err)
			return err < 0 ? err : -EADDRINUSE;
		if (unlink(path) && errno != ENOENT)
			return -errno;
		log_info("removed stale socket %s", path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Bound and listening under a temporary name first, then linked
	 * into place: bound at @path directly, the socket existed a moment
	 * before it listened, and an agent starting then was refused and
	 * ran without us (seen in make check).  link() fails with EEXIST if
	 * another daemon won a race.
	 */
	if (snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d", path,
		     (int)getpid()) >= (int)sizeof(tmp.sun_path))
		tmp = addr; /* no room for a suffix: bind in place */
	unlink(tmp.sun_path);
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp))) {
		err = -errno;
		goto close_fd;
	}
	/* any process may opt in; commands are checked by SO_PEERCRED */
	if (chmod(tmp.sun_path, 0666) || listen(fd, SOMAXCONN)) {
		err = -errno;
		goto unlink_tmp;
	}
	if (strcmp(tmp.sun_path, path)) {
		if (link(tmp.sun_path, path)) {
			err = errno == EEXIST ? -EADDRINUSE : -errno;
			goto unlink_tmp;
		}
		unlink(tmp.sun_path);
	}
	created = 1;
	lfd = fd;
	return 0;

unlink_tmp:
	unlink(tmp.sun_path);
close_fd:
	close(fd);
	return err;
}

void listen_adopt(int fd)
{
	lfd = fd;
	created = 0;
}

void listen_close(void)
{
	if (lfd < 0)
		return;
	close(lfd);
	lfd = -1;
	if (created)
		unlink(addr.sun_path);
	created = 0;
}

void listen_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

unsigned listen_max_conns(void)
{
	static unsigned max;
	struct rlimit rl;

	if (max)
		return max;
	max = UZ_CONN_MAX;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 2 * UZ_CONN_MAX + UZ_FDS_RESERVED) {
		max = rl.rlim_cur > 2 * UZ_FDS_RESERVED ?
			      (rl.rlim_cur - UZ_FDS_RESERVED) / 2 : 32;
		log_info("descriptor limit %lu: at most %u connections",
			 (unsigned long)rl.rlim_cur, max);
	}
	return max;
}
