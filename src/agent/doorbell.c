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
 *
 * A ring that cannot be sent (no room in the user's signal queue, or no
 * signalfd: a seccomp filter) goes through the worker thread instead: it
 * sleeps on a futex word any thread can wake, and shares the agent
 * thread's table, so it writes an eventfd there that the agent thread
 * polls (the relay).  An idle agent thread sleeps up to two minutes
 * (loop.c quiet), and a ring lost then waited that long (a fork() 46 s,
 * a core dump missing what was evicted: review probes).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "doorbell.h"
#include "fds.h"
#include "log.h"
#include "worker.h"

#define BELL_SIGNAL 32 /* glibc's SIGCANCEL */

static int bell_fd = -1, relay_fd = -1;
static int relay_wanted; /* a ring for the worker to pass on */

int doorbell_listen(void)
{
	uint64_t mask = 1ull << (BELL_SIGNAL - 1);
	int fd;

	/* first: without a signalfd, every ring takes this way */
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		__atomic_store_n(&relay_fd, fd_hide(fd), __ATOMIC_RELEASE);
	else
		log_warn("no doorbell relay (eventfd: %s): a ring the signal "
			 "cannot carry waits for the agent thread's next "
			 "wake-up", strerror(errno));
	/* the raw calls: glibc's own refuse its internal signals */
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, sizeof(mask)))
		return -errno;
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			  SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	__atomic_store_n(&bell_fd, fd_hide(fd), __ATOMIC_RELEASE);
	return 0;
}

int doorbell_fd(void)
{
	return bell_fd;
}

int doorbell_relay_fd(void)
{
	return relay_fd;
}

static int relay_there(void)
{
	return relay_fd >= 0 && worker_running();
}

int doorbell_reliable(void)
{
	/* the signal alone: rings are lost only when the user's signal
	 * queue is full, and then looked for every 10 ms for a while
	 * (doorbell_timeout) */
	return relay_there() || bell_fd >= 0;
}

void doorbell_relay(void)
{
	static const uint64_t one = 1;
	int fd = __atomic_load_n(&relay_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0 && __atomic_exchange_n(&relay_wanted, 0, __ATOMIC_ACQ_REL) &&
	    write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_limited(UZ_LOG_ERR, 3, 60, "doorbell relay: %s", strerror(errno));
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
	int saved = errno, bell = __atomic_load_n(&bell_fd, __ATOMIC_ACQUIRE) >= 0;

	if (tid <= 0)
		return;
	/* the agent's process id: a vfork() child rings from another */
	if (!bell || syscall(SYS_tgkill, uz_agent.pid, tid, BELL_SIGNAL)) {
		if (bell && errno == EAGAIN)
			__atomic_store_n(&lost_at, now_ns(), __ATOMIC_RELAXED);
		/* (a futex wake: never fails for want of room) */
		__atomic_store_n(&relay_wanted, 1, __ATOMIC_RELEASE);
		worker_wake();
	}
	errno = saved;
}

int doorbell_timeout(int timeout_ms)
{
	uint64_t lost = __atomic_load_n(&lost_at, __ATOMIC_RELAXED);

	/* (the relay passes every ring on, when there is one) */
	if (lost && !relay_there() && now_ns() - lost < LOST_WINDOW_NS &&
	    (timeout_ms < 0 || timeout_ms > LOST_LOOK_MS))
		return LOST_LOOK_MS;
	return timeout_ms;
}

int doorbell_drain(void)
{
	struct signalfd_siginfo si[8];
	uint64_t relayed;
	int rung = 0;

	if (relay_fd >= 0 && read(relay_fd, &relayed, sizeof(relayed)) > 0)
		rung = 1;
	if (bell_fd < 0)
		return rung;
	while (read(bell_fd, si, sizeof(si)) > 0)
		rung = 1;
	return rung;
}

void doorbell_forget(void)
{
	fd_forget(bell_fd);
	fd_forget(relay_fd);
	bell_fd = relay_fd = -1;
	relay_wanted = 0;
}
