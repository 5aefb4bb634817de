/* SPDX-License-Identifier: MIT */
/*
 * A descriptor's last close() can wait: a TCP socket with unsent data
 * and a long SO_LINGER, a file whose flush waits on a network or FUSE
 * server.  A client that passed us the last reference to one froze
 * uzswapd's one thread (and with it every program starting under the
 * agent).  So what a client passes is closed on a thread of its own;
 * only shmem (a memfd: the arena), whose close never waits, is closed
 * where it is.  Should that thread be stuck on enough of them to fill
 * its pipe, further ones are kept open rather than waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "closer.h"
#include "log.h"

static int pipe_r = -1, pipe_w = -1;

static void *closer_main(void *arg)
{
	int fd;

	for (;;) {
		ssize_t n = read(pipe_r, &fd, sizeof(fd));

		if (n == sizeof(fd))
			close(fd);
		else if (n < 0 && errno != EINTR)
			return arg;
	}
}

int closer_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int p[2], err;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pipe_r = p[0];
	pipe_w = p[1];
	fcntl(pipe_w, F_SETFL, O_NONBLOCK);
	/* signals stay the main thread's (its signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&t, &attr, closer_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

void fd_discard(int fd)
{
	if (fd < 0)
		return;
	/* F_GET_SEALS answers for shmem only */
	if (fcntl(fd, F_GET_SEALS) >= 0 || pipe_w < 0) {
		close(fd);
		return;
	}
	if (write(pipe_w, &fd, sizeof(fd)) != sizeof(fd))
		log_limited(UZ_LOG_WARN, 3, 60, "closer thread behind: a "
			    "client's descriptor is kept open");
}
