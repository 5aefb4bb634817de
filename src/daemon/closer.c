/* SPDX-License-Identifier: MIT */
/*
 * A descriptor's last close() can wait: a TCP socket with unsent data
 * and a long SO_LINGER, a file whose flush waits on a network or FUSE
 * server.  A client that passed us the last reference to one froze
 * uzswapd's one thread (and with it every program starting under the
 * agent).  So what a client passes is closed on a thread of its own;
 * only shmem (a memfd: the arena), whose close never waits, is closed
 * where it is.  Should the threads be stuck on enough of them to fill
 * their pipe, another is started (up to CLOSERS_MAX), and descriptors are
 * kept in a list until the pipe has room (closer_flush, from the main
 * loop): none is waited for, and none is forgotten.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "closer.h"
#include "log.h"

#define CLOSERS_MAX 8 /* threads: each may be stuck on one close */

static int pipe_r = -1, pipe_w = -1;
static unsigned n_closers;
/* what did not fit in the pipe: handed on later (closer_flush) */
static int *overflow;
static unsigned n_overflow, cap_overflow;

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

static int closer_spawn(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (n_closers == CLOSERS_MAX)
		return -EAGAIN;
	/* signals stay the main thread's (its signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&t, &attr, closer_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		n_closers++;
	return err;
}

int closer_start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pipe_r = p[0];
	pipe_w = p[1];
	fcntl(pipe_w, F_SETFL, O_NONBLOCK);
	return closer_spawn();
}

static int hand_on(int fd)
{
	return write(pipe_w, &fd, sizeof(fd)) == sizeof(fd);
}

void closer_flush(void)
{
	unsigned i = 0;

	if (!n_overflow)
		return; /* overflow may be NULL: no memmove() from it */
	while (i < n_overflow && hand_on(overflow[i]))
		i++;
	memmove(overflow, overflow + i, (n_overflow - i) * sizeof(*overflow));
	n_overflow -= i;
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
	closer_flush();
	if (!n_overflow && hand_on(fd))
		return;
	/* the pipe is full: the closers are stuck on closes that wait (a
	 * client's lingering sockets); one more thread, and this one kept
	 * until there is room: never closed here, never forgotten */
	if (!closer_spawn())
		log_limited(UZ_LOG_WARN, 3, 60, "closing clients' descriptors "
			    "is slow: %u closer threads", n_closers);
	if (n_overflow == cap_overflow) {
		int *grown = realloc(overflow, (cap_overflow * 2 + 64) * sizeof(*grown));

		if (!grown) {
			log_limited(UZ_LOG_ERR, 3, 60, "no memory to keep a "
				    "client's descriptor for closing: closed here");
			close(fd);
			return;
		}
		overflow = grown;
		cap_overflow = cap_overflow * 2 + 64;
	}
	overflow[n_overflow++] = fd;
}

int closer_pending(void)
{
	return n_overflow > 0;
}
