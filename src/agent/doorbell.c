/* SPDX-License-Identifier: MIT */
/*
 * The agent's descriptors live in a table of the agent thread's own
 * (fds.c), so the application's threads, which make requests (loop.c),
 * hold none of them, not even an eventfd to say "look".  They send the
 * agent thread a signal instead, with tgkill(): SIGCANCEL (32), which the
 * C library keeps for itself (no program may handle, block or wait for
 * it), aimed at our thread alone, which blocks it and reads it through a
 * signalfd in its poll.  A thread-directed signal stays with that thread:
 * the application never sees it.  The ringer does not wait (a ring that
 * waited in the kernel for the agent thread made a stopped or traced
 * agent thread unstoppable ringers: no SIGSTOP, no ptrace, no freezer).
 * Our thread disables cancellation first thing (agent_main), so that a
 * SIGCANCEL delivered before the block, or past it (glibc's
 * pthread_sigmask putting a mask back lets it through), cannot end it.
 */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "doorbell.h"
#include "fds.h"

#define BELL_SIGNAL 32 /* glibc's SIGCANCEL */

static int bell_fd = -1;

int doorbell_listen(void)
{
	uint64_t mask = 1ull << (BELL_SIGNAL - 1);
	int fd;

	/* the raw calls: glibc's own refuse its internal signals */
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, sizeof(mask)))
		return -errno;
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			  SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	bell_fd = fd_hide(fd);
	return 0;
}

int doorbell_fd(void)
{
	return bell_fd;
}

/*
 * A ring finds no room in the signal queue when the user's
 * RLIMIT_SIGPENDING is used up (or set to 0): it is lost, and what it
 * asked for waited for a turn of the loop (a fork() took 2 s).  No other
 * signal would do (any the program may send to the process could be read
 * by our signalfd instead of reaching it), so after a lost ring the agent
 * thread looks every LOST_LOOK_MS for LOST_WINDOW_NS (not for ever: an
 * idle process would wake 100 times a second).
 */
#define LOST_LOOK_MS 10
#define LOST_WINDOW_NS (10 * 1000000000ull)
static uint64_t lost_at;

void doorbell_ring(void)
{
	pid_t tid = __atomic_load_n(&uz_agent.thread_tid, __ATOMIC_ACQUIRE);
	int saved = errno;

	/* the agent's process id: a vfork() child rings from another */
	if (tid > 0 && syscall(SYS_tgkill, uz_agent.pid, tid, BELL_SIGNAL) &&
	    errno == EAGAIN)
		__atomic_store_n(&lost_at, now_ns(), __ATOMIC_RELAXED);
	errno = saved;
}

int doorbell_timeout(int timeout_ms)
{
	uint64_t lost = __atomic_load_n(&lost_at, __ATOMIC_RELAXED);

	if (lost && now_ns() - lost < LOST_WINDOW_NS &&
	    (timeout_ms < 0 || timeout_ms > LOST_LOOK_MS))
		return LOST_LOOK_MS;
	return timeout_ms;
}

int doorbell_drain(void)
{
	struct signalfd_siginfo si[8];
	int rung = 0;

	if (bell_fd < 0)
		return 0;
	while (read(bell_fd, si, sizeof(si)) > 0)
		rung = 1;
	return rung;
}

void doorbell_forget(void)
{
	fd_forget(bell_fd);
	bell_fd = -1;
}
