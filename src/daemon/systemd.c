/* SPDX-License-Identifier: MIT */
/* sd_notify(3) and sd_listen_fds(3) by hand: uzswapd needs no libsystemd. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"

#define UZ_LISTEN_FDS_START 3 /* SD_LISTEN_FDS_START */

void systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	size_t n;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@') /* abstract namespace */
		sa.sun_path[0] = 0;
	salen = offsetof(struct sockaddr_un, sun_path) + n;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen) < 0)
		log_debug("sd_notify %s: %s", path, strerror(errno));
	close(fd);
}

int systemd_listen_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = -1, type;
	socklen_t len = sizeof(type);

	if (pid && fds && atol(pid) == getpid() && atoi(fds) >= 1) {
		fd = UZ_LISTEN_FDS_START;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
		    type != SOCK_SEQPACKET) {
			log_warn("ignoring socket passed by systemd: not a "
				 "SOCK_SEQPACKET socket");
			fd = -1;
		} else {
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}
