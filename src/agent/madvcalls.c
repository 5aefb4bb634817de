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
#include "uffd_compat.h"

/* a thread seen inside lets the next looks say so without reading the
 * threads' files again (a walk asks for each block it holds): for 50 ms,
 * or 20 times as long as the look took (thousands of threads) */
#define INSIDE_REUSE_NS 50000000ull

struct look {
	pid_t self;
	unsigned seen;
};

/* An io_uring worker (iou-wrk) runs IORING_OP_MADVISE, and its file
 * shows the io_uring_setup/enter it was made from, never madvise:
 * counted as inside (review probe iou_syscall). */
static int inside_nr(long nr)
{
	return nr == SYS_madvise || nr == SYS_process_madvise ||
	       nr == SYS_io_uring_setup || nr == SYS_io_uring_enter;
}

static int thread_inside(pid_t tid, void *arg)
{
	struct look *l = arg;
	char path[64], text[32];
	ssize_t n;
	int fd;

	l->seen++;
	if (tid == l->self)
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
	return inside_nr(strtol(text, NULL, 10));
}

/* Threads: of /proc/self/stat (its 20th field), -1 if unreadable */
static long thread_count(void)
{
	char text[1024], *p;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field;

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = 0;
	p = strrchr(text, ')'); /* the name may hold spaces */
	for (field = 2; p && field < 20; field++)
		p = strchr(p + 1, ' ');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

int madvcalls_under_way(void)
{
	static uint64_t inside_seen_ns, reuse_ns = INSIDE_REUSE_NS;
	uint64_t now = now_ns(), took;
	struct look l = { (pid_t)syscall(SYS_gettid), 0 };
	long before, after;
	int inside;

	if (inside_seen_ns && now - inside_seen_ns < reuse_ns)
		return 1;
	/* stops at the first thread inside; -errno if the list cannot be
	 * read: inside too.  A listing read in pieces skips a thread when
	 * the one it would go on from has ended: the count must agree
	 * before and after, or the look is not trusted */
	before = thread_count();
	inside = tasks_each(thread_inside, &l) != 0;
	after = thread_count();
	if (!inside && before == after && before == (long)l.seen)
		return 0;
	took = now_ns() - now;
	reuse_ns = took * 20 > INSIDE_REUSE_NS ? took * 20 : INSIDE_REUSE_NS;
	inside_seen_ns = now_ns();
	return 1;
}
