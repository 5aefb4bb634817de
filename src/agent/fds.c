/* SPDX-License-Identifier: MIT */
/*
 * The agent's descriptors: not in the application's table.  A program
 * lists its descriptors, closes "all" of them (close_range(3, ~0U),
 * closefrom(3), a loop up to a lowered RLIMIT_NOFILE), dup2()s onto any
 * number, or hands a child an exact set; had it seen ours, it would have
 * failed its own checks, or closed the userfaultfd and dropped every
 * registration with it (evicted memory reading as zeros).  So the agent
 * thread takes a table of its own (unshare(CLONE_FILES)) as it starts,
 * keeping only ours, and the threads it starts share that one; the
 * application's table then lets go of them (fds_leave_app).
 *
 * Ours pass through the application's table only while the agent starts
 * (in the constructor, or in a forked child's hook) and while a fork
 * hands the child its link.  There they are marked, and the interposed
 * close_range()/closefrom() step over them.  The interposed dup2() and
 * dup3() onto a number that may be ours take turns with an application
 * thread's check-then-close of one there (the gate): one landing between
 * the two made us close the application's file (1 fork in ~21,000 of a
 * dup2() storm).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"
#include "fork.h"
#include "uffd_compat.h"

#define UZ_EXPORT __attribute__((visibility("default")))

/* one bit per descriptor of ours in the application's table, below
 * FDS_TRACKED; they sit just above 900 */
#define FDS_TRACKED 65536
static uint64_t ours[FDS_TRACKED / 64];

/* this thread runs on the agent's own table (where all are ours) */
static __thread int own_table;

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

/*
 * The gate: who holds it, as pid << 32 | tid (0: nobody).  Held only
 * by application threads, with every signal held back (the raw system
 * call: glibc's never blocks SIGCANCEL), so no handler, siglongjmp() or
 * cancellation can run while it is held; it nests only within our own
 * code.  The agent's threads never take it: the thread that serves
 * faults must not wait for a program's dup2() (one replacing a lingering
 * socket takes seconds to close).  A holder of another process is a raw
 * clone()'s copy (never given back here) or a vfork() parent's (given
 * back soon): after GATE_FOREIGN_MS it is taken over.
 */
#define GATE_FOREIGN_MS 100
static uint64_t gate_holder;
/* the number a dup2()/dup3() holding the gate lands on (-1: none); in a
 * fork()'s child, the one that was in flight as the fork copied the
 * table: its mark may still say ours where the program's file is */
static int gate_fd = -1, inflight_at_fork = -1;
/* this thread is one of the agent's (set as it takes its table) */
static __thread int agent_thread;
/* fd_hide's last floor: dup2() onto a number at or above it may land on
 * one of ours, and takes the gate; below it only marked ones do */
static int hide_floor = 900;

static uint64_t me_as_holder(void)
{
	return (uint64_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
}

/* With signals held.  1 when taken here, 0 when this thread held it. */
static int gate_take(void)
{
	struct timespec nap = { 0, 100 * 1000 };
	uint64_t me = me_as_holder(), seen, foreign = 0, since = 0;
	unsigned tries = 0;

	for (;;) {
		seen = 0;
		if (__atomic_compare_exchange_n(&gate_holder, &seen, me, 0,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return 1;
		if (seen == me)
			return 0;
		if (seen >> 32 == me >> 32) {
			foreign = 0;
		} else if (seen != foreign) {
			foreign = seen;
			since = now_ns();
		} else if (now_ns() - since > GATE_FOREIGN_MS * 1000000ull &&
			   __atomic_compare_exchange_n(&gate_holder, &seen, me, 0,
						       __ATOMIC_ACQUIRE,
						       __ATOMIC_RELAXED)) {
			return 1;
		}
		/* held for a few system calls, or a close that lingers */
		if (++tries < 64)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

static void gate_give(int taken)
{
	if (taken)
		__atomic_store_n(&gate_holder, 0, __ATOMIC_RELEASE);
}

void fds_gate_enter(struct fds_gate *g)
{
	g->taken = 0;
	if (agent_thread)
		return;
	uz_signals_hold(&g->mask);
	g->taken = gate_take();
}

void fds_gate_leave(struct fds_gate *g)
{
	if (agent_thread)
		return;
	gate_give(g->taken);
	uz_signals_restore(&g->mask);
}

void fds_fork_child_first(void)
{
	/* its holder, a thread of the parent's, is not here; taken over
	 * (fd_close, after GATE_FOREIGN_MS) it would say nothing */
	inflight_at_fork = __atomic_load_n(&gate_holder, __ATOMIC_ACQUIRE) ?
				   __atomic_load_n(&gate_fd, __ATOMIC_SEQ_CST) : -1;
	__atomic_store_n(&gate_fd, -1, __ATOMIC_SEQ_CST);
}

void fds_gate_reset_child(void)
{
	__atomic_store_n(&gate_holder, 0, __ATOMIC_RELEASE);
}

/* dup2()/dup3() onto @newfd: onto one of ours, the number is the
 * application's from then on. */
static int dup_onto(int oldfd, int newfd, int flags, int as_dup2)
{
	int gated = is_ours((unsigned)newfd) ||
		    newfd >= __atomic_load_n(&hide_floor, __ATOMIC_RELAXED);
	int taken = 0, r, saved, was_fd = -1;
	sigset_t old;

	if (gated) {
		uz_signals_hold(&old);
		taken = gate_take();
		was_fd = __atomic_exchange_n(&gate_fd, newfd, __ATOMIC_SEQ_CST);
	}
	if (as_dup2 && oldfd == newfd)
		r = fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
	else
		r = (int)syscall(SYS_dup3, oldfd, newfd, flags);
	saved = errno;
	if (gated) {
		/* a test's: landed, our mark not yet cleared */
		static int delay_ms = -1;

		uz_test_delay("UZSWAP_TEST_DUP_DELAY_MS", &delay_ms);
	}
	/* not in a vfork() child: it shares our marks, not our table */
	if (r >= 0 && oldfd != newfd && is_ours((unsigned)r) &&
	    getpid() == uz_agent.pid)
		mark(r, 0);
	if (gated) {
		__atomic_store_n(&gate_fd, was_fd, __ATOMIC_SEQ_CST);
		gate_give(taken);
		uz_signals_restore(&old);
	}
	errno = saved;
	return r;
}

UZ_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, 1);
}

UZ_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, 0);
}

int fd_hide(int fd)
{
	struct rlimit rl;
	struct fds_gate g;
	int floor = 900, h;

	if (fd < 0)
		return fd;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 1024)
		floor = rl.rlim_cur * 3 / 4;
	if (!own_table)
		fds_gate_enter(&g);
	if (floor < __atomic_load_n(&hide_floor, __ATOMIC_RELAXED))
		__atomic_store_n(&hide_floor, floor, __ATOMIC_RELAXED);
	h = fd;
	if (fd < floor) {
		h = fcntl(fd, F_DUPFD_CLOEXEC, floor);
		if (h < 0)
			h = fd;
		else
			close(fd);
	}
	if (!own_table) {
		mark(h, 1);
		fds_gate_leave(&g);
	}
	return h;
}

void fd_forget(int fd)
{
	if (!own_table)
		mark(fd, 0);
}

void fd_close(int fd)
{
	struct fds_gate g;

	if (fd < 0)
		return;
	if (own_table) {
		close(fd);
		return;
	}
	fds_gate_enter(&g);
	/* not marked: not ours in this table (a forked child's copy of its
	 * parent's numbers, or the application dup2()ed onto it) */
	if (is_ours((unsigned)fd)) {
		mark(fd, 0);
		close(fd);
	}
	fds_gate_leave(&g);
}

/* The next of ours at or above @fd in the application's table, or
 * FDS_TRACKED. */
static unsigned next_ours(unsigned fd)
{
	for (; fd < FDS_TRACKED; fd++) {
		if (!(fd % 64) && !__atomic_load_n(&ours[fd / 64], __ATOMIC_SEQ_CST)) {
			fd += 63;
			continue;
		}
		if (is_ours(fd))
			return fd;
	}
	return FDS_TRACKED;
}

int fds_agent_thread(void)
{
	return agent_thread;
}

int fds_take_own_table(void)
{
	unsigned lo = 0, fd;

	/* with a table of its own or not (a seccomp filter refusing
	 * unshare), this thread never waits for the gate */
	agent_thread = 1;
	if (syscall(SYS_unshare, CLONE_FILES))
		return -errno;
	/* the copy holds the application's descriptors too: a pipe's
	 * write end kept here would keep its reader from seeing EOF */
	while ((fd = next_ours(lo)) < FDS_TRACKED) {
		if (fd > lo)
			syscall(SYS_close_range, lo, fd - 1, 0);
		lo = fd + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
	own_table = 1;
	return 0;
}

void fds_leave_app(void)
{
	struct fds_gate g;
	unsigned fd = 0;

	fds_gate_enter(&g);
	while ((fd = next_ours(fd)) < FDS_TRACKED) {
		mark((int)fd, 0);
		close((int)fd);
		fd++;
	}
	fds_gate_leave(&g);
}

void fds_close_inherited(int keep)
{
	unsigned fd = 0;

	/* one thread in the child: no gate to take.  A number a dup2() was
	 * landing on as the fork copied the table is left as it is: the
	 * program's file may be there with our mark still on it (a review's
	 * probe: the child closed it, and the agent then opened its own
	 * there); at worst one of the parent's stays open here. */
	while ((fd = next_ours(fd)) < FDS_TRACKED) {
		if ((int)fd != keep) {
			mark((int)fd, 0);
			if ((int)fd != inflight_at_fork)
				close((int)fd);
		}
		fd++;
	}
}

int fds_pull(pid_t tid, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD), got, err;

	if (pfd < 0 && errno == EINVAL) /* before Linux 6.9: the process's */
		pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pfd < 0)
		return -errno;
	got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	err = errno;
	close(pfd);
	if (got < 0)
		return -err;
	return fd_hide(got);
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
	for (fd = next_ours(first); fd <= last && fd < FDS_TRACKED;
	     fd = next_ours(fd + 1)) {
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

/*
 * poll() refuses more entries than RLIMIT_NOFILE (EINVAL), and a program
 * may lower its limit to anything, 0 too: the agent thread then spun on
 * the error and served no fault again (it_rlimits).  The select system
 * call checks no such limit.  Its sets are on the stack up to SELECT_FDS
 * (a fork hook runs on the program's stack; ours sit just above 900,
 * fd_hide), mapped beyond.  A closed descriptor fails all of select with
 * EBADF where poll flags only its entry: each is looked at then, and
 * flagged POLLNVAL as poll would.
 */
#define SELECT_FDS 4096

static int select_in(struct pollfd *p, nfds_t n, int timeout_ms,
		     uint64_t *in, uint64_t *out, size_t words)
{
	struct timespec ts = { timeout_ms / 1000, timeout_ms % 1000 * 1000000L };
	struct timespec *wait = timeout_ms < 0 ? NULL : &ts;
	int top = -1, ready = 0, r;
	nfds_t i;

	memset(in, 0, words * 8);
	memset(out, 0, words * 8);
	for (i = 0; i < n; i++) {
		int fd = p[i].fd;

		p[i].revents = 0;
		if (fd < 0)
			continue;
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			p[i].revents = POLLNVAL;
			ready++;
			continue;
		}
		if (p[i].events & POLLIN)
			in[fd / 64] |= 1ull << (fd % 64);
		if (p[i].events & POLLOUT)
			out[fd / 64] |= 1ull << (fd % 64);
		top = fd > top ? fd : top;
	}
	if (ready) { /* POLLNVAL to report: no waiting */
		ts.tv_sec = ts.tv_nsec = 0;
		wait = &ts;
	}
	r = (int)syscall(SYS_pselect6, top + 1, in, out, NULL, wait, NULL);
	if (r < 0)
		return -1;
	for (i = 0; i < n; i++) {
		int fd = p[i].fd;

		if (fd < 0 || p[i].revents)
			continue;
		if ((in[fd / 64] >> (fd % 64)) & 1)
			p[i].revents |= POLLIN;
		if ((out[fd / 64] >> (fd % 64)) & 1)
			p[i].revents |= POLLOUT;
		ready += p[i].revents != 0;
	}
	return ready;
}

static int select_instead(struct pollfd *p, nfds_t n, int timeout_ms)
{
	uint64_t in[SELECT_FDS / 64], out[SELECT_FDS / 64];
	size_t words, bytes;
	uint64_t *sets;
	int top = -1, r, saved;
	nfds_t i;

	for (i = 0; i < n; i++)
		top = p[i].fd > top ? p[i].fd : top;
	if (top < SELECT_FDS)
		return select_in(p, n, timeout_ms, in, out, SELECT_FDS / 64);
	words = (size_t)top / 64 + 1;
	bytes = (2 * words * 8 + UZ_PAGE_SIZE - 1) & ~(size_t)(UZ_PAGE_SIZE - 1);
	sets = map_anon(bytes, 0); /* never in a hole of the program's */
	if (!sets) {
		errno = ENOMEM;
		return -1;
	}
	r = select_in(p, n, timeout_ms, sets, sets + words, words);
	saved = errno;
	map_release(sets, bytes);
	errno = saved;
	return r;
}

int fd_poll(struct pollfd *p, nfds_t n, int timeout_ms)
{
	int r = poll(p, n, timeout_ms);

	if (r >= 0 || errno != EINVAL)
		return r;
	return select_instead(p, n, timeout_ms);
}
