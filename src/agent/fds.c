/* SPDX-License-Identifier: MIT */
/*
 * The agent's descriptors: kept out of the application's way.  A
 * program that closes "everything" before exec (close_range(3, ~0U),
 * closefrom(3): Python's subprocess, daemons, spawners) would otherwise
 * close the userfaultfd, and the kernel would drop every registration
 * with it: evicted memory would read as zeros (a child's argv, say, as
 * exec copies it).  Those calls close the application's descriptors and
 * step over ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"
#include "fork.h"

#define UZ_EXPORT __attribute__((visibility("default")))

/* one bit per descriptor below FDS_TRACKED; ours sit just above 900 */
#define FDS_TRACKED 65536
static uint64_t ours[FDS_TRACKED / 64];

static void mark(int fd, int on)
{
	uint64_t bit;

	if (fd < 0 || fd >= FDS_TRACKED)
		return;
	bit = 1ull << (fd % 64);
	if (on)
		__atomic_or_fetch(&ours[fd / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&ours[fd / 64], ~bit, __ATOMIC_SEQ_CST);
}

static int is_ours(unsigned fd)
{
	return fd < FDS_TRACKED &&
	       (__atomic_load_n(&ours[fd / 64], __ATOMIC_SEQ_CST) >> (fd % 64)) & 1;
}

int fd_hide(int fd)
{
	struct rlimit rl;
	int floor = 900, h;

	if (fd < 0)
		return fd;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 1024)
		floor = rl.rlim_cur * 3 / 4;
	h = fd;
	if (fd < floor) {
		h = fcntl(fd, F_DUPFD_CLOEXEC, floor);
		if (h < 0)
			h = fd;
		else
			close(fd);
	}
	mark(h, 1);
	return h;
}

void fd_forget(int fd)
{
	mark(fd, 0);
}

void fd_close(int fd)
{
	if (fd < 0)
		return;
	mark(fd, 0);
	close(fd);
}

/*
 * Are the descriptors marked ours really the agent's here?  Not in a raw
 * clone()'s child with a table of its own: there they are copies (of the
 * daemon socket, the arena, uffds) that would pin the parent's store and
 * connection for as long as it lives.  They are with CLONE_FILES (one
 * table), and in a fork()'s child before its agent takes over (it still
 * needs its link to the parent).
 */
static int ours_here(void)
{
	if (agent_process() || fork_in_hooks())
		return 1;
	/* kcmp: 0 when both use one table; an error keeps them (safe) */
	return syscall(SYS_kcmp, getpid(), uz_agent.pid, KCMP_FILES, 0, 0) <= 0;
}

/* close_range(2) over [first, last], stepping over our descriptors. */
static int close_range_around(unsigned first, unsigned last, int flags)
{
	unsigned lo = first, fd;
	int ret = 0;

	if (first > last || !ours_here())
		return (int)syscall(SYS_close_range, first, last, flags);
	for (fd = first; fd <= last && fd < FDS_TRACKED; fd++) {
		if (!(fd % 64) && !__atomic_load_n(&ours[fd / 64], __ATOMIC_SEQ_CST)) {
			fd += 63; /* none of ours in these 64 */
			continue;
		}
		if (!is_ours(fd))
			continue;
		if (fd > lo && syscall(SYS_close_range, lo, fd - 1, flags) && !ret)
			ret = -1;
		lo = fd + 1;
	}
	if (lo <= last && lo >= first &&
	    syscall(SYS_close_range, lo, last, flags) && !ret)
		ret = -1;
	return ret;
}

UZ_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return close_range_around(first, last, flags);
}

UZ_EXPORT void closefrom(int lowfd)
{
	/* glibc takes a negative one as 0 */
	close_range_around(lowfd > 0 ? (unsigned)lowfd : 0, ~0U, 0);
}
