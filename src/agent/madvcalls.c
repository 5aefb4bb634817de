/* SPDX-License-Identifier: MIT */
/* Is a thread of the program inside madvise()?  See madvcalls.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "madvcalls.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

/* a thread seen inside lets the next looks say so without reading the
 * threads' files again: a walk asks for each block it holds */
#define INSIDE_REUSE_NS 50000000ull

static int thread_inside(pid_t tid, void *self)
{
	char path[64], text[32];
	ssize_t n;
	long nr;
	int fd;

	if (tid == *(pid_t *)self)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT; /* ended: in no call */
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0 && errno == ESRCH)
		n = 0, text[0] = 0; /* ended while we looked */
	close(fd);
	if (n < 0)
		return 1;
	text[n] = 0;
	if (!strncmp(text, "running", 7))
		return 1;
	nr = strtol(text, NULL, 10);
	return nr == SYS_madvise || nr == SYS_process_madvise;
}

int madvcalls_under_way(void)
{
	static uint64_t inside_seen_ns;
	uint64_t now = now_ns();
	pid_t self = (pid_t)syscall(SYS_gettid);

	if (inside_seen_ns && now - inside_seen_ns < INSIDE_REUSE_NS)
		return 1;
	/* stops at the first thread inside; -errno if the list cannot be
	 * read: inside too */
	if (!tasks_each(thread_inside, &self))
		return 0;
	inside_seen_ns = now;
	return 1;
}
