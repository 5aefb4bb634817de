/* SPDX-License-Identifier: MIT */
/* The agent thread: faults, daemon commands, requests, idle work. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blocks.h"
#include "coredump.h"
#include "creds.h"
#include "doorbell.h"
#include "dropuid.h"
#include "events.h"
#include "evict.h"
#include "fds.h"
#include "freezer.h"
#include "fork.h"
#include "inactive.h"
#include "rawkid.h"
#include "lifeline.h"
#include "limitguard.h"
#include "log.h"
#include "loop.h"
#include "procmaps.h"
#include "msg.h"
#include "regions.h"
#include "restore.h"
#include "stage.h"
#include "worker.h"

/* raw clone()'s children: uffds polled (more are served all the same),
 * and frames filled between two looks at our own faults (~1 ms) */
#define RAWKID_POLL 8
#define RAWKID_SLICE 16
#define STACK_SIZE (256u << 10)
#define SPIN_NS 30000		/* spin this long for the next fault */
#define RECONNECT_NS 1000000000ull
/* refresh the managed-bytes figure every 2 s while it changes; half as
 * often each time it did not, down to every two minutes: an idle process
 * is not woken for it (issue 13).  An eviction's walk counts the same,
 * so a daemon whose automatic loop sends an idle client a step once a
 * minute (AUTO_NOTHING_AGAIN_MS) is its only wake-up. */
#define RESCAN_NS 2000000000ull
#define RESCAN_IDLE_NS 120000000000ull

static struct {
	pthread_mutex_t serial; /* one request at a time */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int op, pending, result;
	uint64_t start, len;
} req = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	  PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0 };

static uint64_t evict_seq;
static int quitting; /* stepping aside: the agent thread ends */

int loop_is_agent_thread(void)
{
	/* another thread may read it as the agent thread starts: either
	 * value is not the caller's own tid */
	return uz_agent.active && (pid_t)syscall(SYS_gettid) ==
		__atomic_load_n(&uz_agent.thread_tid, __ATOMIC_RELAXED);
}

/* this thread is inside loop_request (a signal handler that lands here,
 * such as one calling _exit, must not make another: it would wait on the
 * locks held below it) */
static __thread int in_request;

int loop_request(int op, uint64_t start, uint64_t len)
{
	int ret, cancel;

	if (!agent_here())
		return -ENOTCONN;
	if (loop_is_agent_thread() || in_request)
		return -EDEADLK;
	/* pthread_cond_wait is a cancellation point: a deferred
	 * pthread_cancel() would end the thread here holding both locks
	 * (and the fork lock, or an eviction hold, of its caller) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	in_request = 1;
	pthread_mutex_lock(&req.serial);
	pthread_mutex_lock(&req.lock);
	req.op = op;
	req.start = start;
	req.len = len;
	__atomic_store_n(&req.pending, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&req.lock);
	loop_wake();
	pthread_mutex_lock(&req.lock);
	while (req.pending)
		pthread_cond_wait(&req.cond, &req.lock);
	ret = req.result;
	pthread_mutex_unlock(&req.lock);
	pthread_mutex_unlock(&req.serial);
	in_request = 0;
	pthread_setcancelstate(cancel, NULL);
	return ret;
}

/* Restoring changes the table, so take the addresses first, in rounds
 * of a fixed buffer, until none is left or a round brings none back. */
static int restore_range(uint64_t start, uint64_t len)
{
	static uint64_t addrs[512];
	uint64_t end = start + len < start ? UINT64_MAX : start + len, t0 = 0;
	uint32_t n, i, done;
	int err = 0;

	/* stored pages an unaligned mremap moved wait in copy tasks, and
	 * their new range stays registered until copied: copy them first */
	events_pending_wait(0, &t0, "restoring a range");
	inactive_put_back(start, end);
	do {
		n = blocks_collect(start, end, addrs, 512);
		for (i = done = 0; i < n && !err; i++) {
			/* found again each time: an event read while
			 * waiting may have dropped or moved it */
			struct block *b = blocks_find(addrs[i]);

			if (!b)
				continue;
			/* pages of it that an mremap read since the wait
			 * above moved go to their new place first, not
			 * back here (events_pending_run: 0 or -EAGAIN) */
			err = events_pending_run(addrs[i]);
			b = err ? NULL : blocks_find(addrs[i]);
			if (b)
				err = restore_all_frames(b);
			if (err == -EAGAIN) {
				if (!t0)
					t0 = now_ns();
				restore_settle_wait(t0, "restoring a range");
				err = 0;
				i--;
				continue;
			}
			done += !err;
		}
	} while (n && done && !err);
	return err;
}

/* uzswapctl restore: everything back (a debugger's or gcore's reads of
 * evicted memory fail with EIO: the kernel cannot take a userfault for
 * another process's access), said the way an eviction is. */
static void restore_run(struct uz_evict_done *done)
{
	uint64_t t0 = now_ns(), before = uz_agent.stats->evicted_bytes +
					  uz_agent.stats->inactive_bytes;
	uint32_t blocks = blocks_count() + inactive_count();

	memset(done, 0, sizeof(*done));
	done->err = restore_range(0, UINT64_MAX);
	/* what the inactive list gave back too */
	done->blocks = blocks - blocks_count() - inactive_count();
	done->bytes = before - uz_agent.stats->evicted_bytes -
		      uz_agent.stats->inactive_bytes;
	done->usec = (now_ns() - t0) / 1000;
}

/*
 * In the child, glibc's fork and our child hook run on the forking
 * thread's stack, a few KB below where the parent called fork(), before
 * the child's agent thread exists: a still-evicted page there would hang
 * the child for ever.  So the stack below @sp is brought back first
 * (evictions are held from here to the fork).
 */
#define CHILD_STACK_BYTES (128u << 10)

/* Does [s, e) hold evicted blocks? */
static int holds_blocks(uint64_t s, uint64_t e)
{
	uint64_t one;

	/* the hint first: a walk of the table for each such VMA otherwise */
	return blocks_may_hold(s, e - s) && blocks_collect(s, e, &one, 1) > 0;
}

/*
 * A child reads MADV_WIPEONFORK memory as zeros, but it would share
 * what is stored of it.  The madvise() interposer brings it back before
 * the flag is set; a raw system call does not pass there, so evicted
 * memory that has the flag now comes back before the copy (the kernel
 * then wipes it in the child): a read of smaps, only while something is
 * evicted, in rounds of 64 such VMAs that hold blocks.  When smaps
 * cannot be read whole, everything comes back: no child may read what
 * the kernel would have wiped.
 */
#define WIPED_ROUND 64 /* such VMAs listed per read of smaps */

static void restore_wipeonfork(void)
{
	static uint64_t wiped[WIPED_ROUND][2];
	int64_t n, i;
	uint32_t before;

	do {
		before = blocks_count();
		if (!before)
			return;
		n = regions_flagged("wf", holds_blocks, wiped, WIPED_ROUND);
		if (n < 0) {
			log_limited(UZ_LOG_WARN, 3, 60, "fork: cannot read which "
				    "memory is MADV_WIPEONFORK (%s); bringing "
				    "everything back first", strerror((int)-n));
			restore_range(0, UINT64_MAX);
			return;
		}
		for (i = 0; i < n && i < WIPED_ROUND; i++)
			restore_range(wiped[i][0], wiped[i][1] - wiped[i][0]);
	} while (n > WIPED_ROUND && blocks_count() < before);
}

static int fork_prepare_at(uint64_t sp)
{
	if (sp > CHILD_STACK_BYTES)
		restore_range(sp - CHILD_STACK_BYTES, CHILD_STACK_BYTES + UZ_PAGE_SIZE);
	restore_wipeonfork();
	/* the child's copy of the table has no inactive list: all back
	 * (a move each), not compressed, to keep fork() quick */
	inactive_put_back(0, UINT64_MAX);
	return fork_prepare();
}

int restore_everything(void)
{
	return restore_range(0, UINT64_MAX);
}

/*
 * The application is about to make a call the kernel refuses to a
 * process with more than one thread (aside.c): bring everything back,
 * fill every raw clone's child, give the staging pages back, and end.
 * With our threads gone, their descriptor table goes too: the uffds'
 * release unregisters what is left, which holds nothing of ours then.
 */
static int step_aside(void)
{
	rawkid_drain();
	if (rawkid_busy())
		return -EBUSY; /* a raw clone's child not filled: stay */
	restore_range(0, UINT64_MAX);
	if (blocks_count() || inactive_count())
		return -EBUSY; /* something could not come back: stay */
	stage_release();
	inactive_free(0);
	quitting = 1;
	return 0;
}

void loop_reset_child(void)
{
	pthread_mutex_init(&req.serial, NULL);
	pthread_mutex_init(&req.lock, NULL);
	pthread_cond_init(&req.cond, NULL);
	__atomic_store_n(&req.pending, 0, __ATOMIC_RELEASE);
}

/* a range brought back for the application's call is unregistered
 * afterwards up to this size (a walk of its 2 MB blocks, if need be) */
#define UZ_UNREGISTER_RANGE_MAX (64ull << 30)

static void serve_request(void)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&req.lock);
	/* served even while a fork is under way (the child starts from the
	 * table copied before it): a request held back until the fork ended
	 * deadlocked a fork that failed (no FORK event, and the forking
	 * thread waits for the request's lock to say so) */
	if (req.pending) {
		if (req.op == LOOP_RESTORE_RANGE) {
			ret = restore_range(req.start, req.len);
			if (!ret && req.len <= UZ_UNREGISTER_RANGE_MAX)
				events_unregister_restored(req.start, req.len);
		}
		else if (req.op == LOOP_FORK_PREPARE)
			ret = fork_prepare_at(req.start);
		else if (req.op == LOOP_FORK_DONE)
			ret = fork_done();
		else if (req.op == LOOP_EVENTS) {
			const struct uffd_msg *m = (const void *)(uintptr_t)req.start;
			uint64_t i;

			for (i = 0; i < req.len; i++)
				events_handle(&m[i]);
			ret = 0;
		} else if (req.op == LOOP_RAWKID_DRAIN) {
			rawkid_drain();
			ret = 0;
		} else if (req.op == LOOP_STEP_ASIDE) {
			ret = step_aside();
		} else if (req.op == LOOP_OWN_ARENA) {
			ret = dropuid_own_arena();
		}
		req.result = ret;
		__atomic_store_n(&req.pending, 0, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&req.cond);
	}
	pthread_mutex_unlock(&req.lock);
}

static void send_progress(uint64_t done, uint64_t target)
{
	struct uz_evict_progress p = { done, target };

	if (uz_agent.sock >= 0)
		msg_send(uz_agent.sock, UZ_MSG_EVICT_PROGRESS, evict_seq, &p,
			 sizeof(p), -1);
}

/* The daemon saw us grow (UZ_MSG_RESCAN): an idle agent thread rescans
 * only every two minutes on its own. */
static int rescan_asked;
/* when the figure was last counted, by a rescan or an eviction's walk,
 * and how long after that the next rescan comes */
static uint64_t last_scan, rescan_ns;

/* The managed figure was counted just now, and was @before until then:
 * the next rescan comes twice as late as the last if it did not change,
 * 2 s after if it did or the daemon asked.  An eviction's walk counts
 * too: with the daemon's step to an idle client once a minute, a rescan
 * that did not double past it came between two steps (1.25 wake-ups a
 * minute, tests/bench/idle_wakes.sh). */
static void figure_counted(uint64_t before)
{
	rescan_ns = uz_agent.stats->registered_bytes == before && !rescan_asked ?
			    rescan_ns * 2 : RESCAN_NS;
	if (rescan_ns > RESCAN_IDLE_NS)
		rescan_ns = RESCAN_IDLE_NS;
	rescan_asked = 0;
	last_scan = now_ns();
}

/* One message from the daemon; returns -errno when the link is gone. */
static int serve_daemon(void)
{
	static struct uz_msg m;
	struct uz_evict_done done;
	const char *cause = NULL;
	int fd, err;

	err = msg_recv(uz_agent.sock, &m, &fd, &cause);
	if (err == -EAGAIN || err == -EINTR)
		return 0;
	if (err)
		return err;
	switch (m.hdr.type) {
	case UZ_MSG_EVICT:
		evict_seq = m.hdr.seq;
		if (m.u.evict.flags & UZ_EVICT_REFILL)
			restore_set_refill(&m.u.evict);
		if (m.u.evict.flags & UZ_EVICT_RESTORE) {
			restore_run(&done);
		} else {
			uint64_t before = uz_agent.stats->registered_bytes;

			evict_run(&m.u.evict, &done, send_progress);
			figure_counted(before);
		}
		return msg_send(uz_agent.sock, UZ_MSG_EVICT_DONE, m.hdr.seq, &done,
				sizeof(done), -1);
	case UZ_MSG_LIMITED:
		limitguard_limited();
		return 0;
	case UZ_MSG_RESCAN:
		rescan_asked = 1;
		return 0;
	case UZ_MSG_ERROR:
		m.u.error.msg[sizeof(m.u.error.msg) - 1] = 0;
		log_warn("uzswapd: %s", m.u.error.msg);
		return 0;
	default:
		log_warn("unexpected message %u from uzswapd", m.hdr.type);
		return 0;
	}
}

/* Set once the agent thread has its own descriptor table (1), could not
 * start (2), or shares the application's (3: unshare() refused, by a
 * seccomp filter say): until then ours are in the application's only. */
static unsigned table_state;
static int table_err;

static void own_table_said(unsigned state, int err)
{
	table_err = err;
	word_set(&table_state, state);
}

int loop_shares_table(void)
{
	return __atomic_load_n(&table_state, __ATOMIC_ACQUIRE) == 3;
}

/* Nothing for the agent thread to look at on its own until the next
 * rescan: connected, no list aging, no copies waiting, no main thread
 * ending.  (Faults, the daemon, the doorbell, fork links and a watched
 * thread wake it through their descriptors.) */
static int quiet(void)
{
	return uz_agent.sock >= 0 && doorbell_reliable() && !inactive_count() &&
	       !events_tasks_waiting() && !lifeline_wants_ticks();
}

/* Milliseconds from now to @t_ns, rounded up (a poll that ended a
 * little early would find the rescan not due, and sleep once more), at
 * least 1 and at most an hour. */
static int until_ms(uint64_t t_ns)
{
	uint64_t now = now_ns(), ms = t_ns > now ? (t_ns - now + 999999) / 1000000 : 1;

	return ms > 3600000 ? 3600000 : (int)ms;
}

static void *agent_main(void *arg)
{
	uint64_t last_try = 0, spin_until = 0;
	int shared;

	/* (a forked child's copies are its parent's) */
	last_scan = 0;
	rescan_ns = RESCAN_NS;
	rescan_asked = 0;

	/* before anyone can ring (doorbell.c): no SIGCANCEL may end us */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	__atomic_store_n(&uz_agent.thread_tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELAXED);
	creds_thread_start();
	lifeline_thread_start();
	{
		int err = fds_take_own_table();

		if (err)
			log_warn("no descriptor table of our own (%s): the "
				 "agent's descriptors stay in the application's",
				 strerror(-err));
		shared = err != 0;
	}
	/* in the table just taken, while no limit of the program's is
	 * in the way yet */
	procmaps_open();
	/* started from here, they share our table: the worker reads the
	 * arena through its descriptor.  Both are optional.  Only then is
	 * the start said to be done: in a forked child, creating a thread
	 * may fault on evicted memory (glibc callocs its TLS vector), which
	 * the parent serves only until the child says its threads run. */
	if (stage_start())
		log_warn("no filler thread: restores fault their huge pages in");
	if (worker_start())
		log_warn("no worker thread: a block is encoded on one core");
	/* after starting them: glibc's pthread_sigmask, putting a mask
	 * back, unblocks the signal the doorbell uses */
	{
		int err = doorbell_listen();

		if (err)
			log_err("no doorbell: %s; requests wait for the next "
				"turn of the loop (up to a second)", strerror(-err));
	}
	own_table_said(shared ? 3 : 1, 0);
	while (!quitting) {
		/* a starting child's parent still serves our uffd and holds
		 * events we have yet to act on (fork.c nurse_child) */
		int held = __atomic_load_n(&uz_agent.hold_uffd, __ATOMIC_ACQUIRE);
		struct pollfd p[5 + UZ_MAX_HOLDERS + RAWKID_POLL] = {
			{ held ? -1 : uz_agent.uffd, POLLIN, 0 },
			{ doorbell_fd(), POLLIN, 0 },
			{ uz_agent.sock, POLLIN, 0 },
			{ lifeline_fd(), POLLIN, 0 },
			{ doorbell_relay_fd(), POLLIN, 0 },
		};
		int timeout = -1, n, kids, raw;

		creds_catch_up();
		coredump_serve();
		/* a sequential reader faults again within microseconds:
		 * catching that without sleeping halves the round trip */
		if (!held && now_ns() < spin_until) {
			if (restore_poll())
				spin_until = now_ns() + SPIN_NS;
			continue;
		}
		/* not while a fork is under way: the scan holds the tables'
		 * lock most of the time, and a child copied with it held
		 * spun for ever (regions_reset_child is the other half) */
		if ((rescan_asked || now_ns() - last_scan >= rescan_ns) &&
		    !__atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST)) {
			uint64_t before = uz_agent.stats->registered_bytes;
			int64_t managed = regions_scan(NULL, NULL);

			if (managed >= 0)
				uz_agent.stats->registered_bytes = managed;
			figure_counted(before);
		}
		if (held)
			timeout = 1000;
		else if (rawkid_busy())
			timeout = 0; /* a raw clone's child to fill */
		else if (restore_idle())
			timeout = 0;
		else if (inactive_tick())
			timeout = 0;
		else if (restore_pending())
			timeout = 1;
		else if (quiet())
			/* every wake-up comes from a descriptor now */
			timeout = until_ms(last_scan + rescan_ns);
		else
			timeout = 1000;
		/* the sock slot stays, ignored (fd -1) while disconnected */
		kids = fork_pollfds(p + 5, UZ_MAX_HOLDERS);
		raw = rawkid_pollfds(p + 5 + kids, RAWKID_POLL);
		n = fd_poll(p, 5 + kids + raw, doorbell_timeout(timeout));
		if (n < 0 && errno != EINTR)
			log_limited(UZ_LOG_ERR, 3, 60, "poll: %s", strerror(errno));
		if (!held && (p[0].revents & POLLIN || restore_pending()))
			if (restore_poll())
				spin_until = now_ns() + SPIN_NS;
		if ((p[1].revents | p[4].revents) & POLLIN)
			doorbell_drain();
		/* a look without the lock: serve_request takes it */
		if (__atomic_load_n(&req.pending, __ATOMIC_ACQUIRE))
			serve_request();
		if (quitting)
			break; /* nothing more: not even a daemon's eviction */
		if (kids && n > 0 && !uz_agent.frozen)
			fork_pollfds_done(p + 5, kids);
		if (rawkid_busy())
			rawkid_step(RAWKID_SLICE);
		if (p[3].revents)
			lifeline_check();
		else
			lifeline_tick();
		if (uz_agent.sock >= 0 && p[2].revents) {
			int err = serve_daemon();

			if (err) {
				log_warn("lost uzswapd (%s); serving faults on "
					 "our own and reconnecting",
					 strerror(-err));
				agent_disconnect();
				/* it may have gone during a hold (limit-hold):
				 * a held program must not wait for a daemon
				 * that may not come back */
				if (freezer_thaw_own(getpid()))
					log_warn("uzswapd went away while it held "
						 "this process: it goes on");
			}
		}
		if (uz_agent.sock < 0 && now_ns() - last_try > RECONNECT_NS) {
			last_try = now_ns();
			agent_connect(1);
		}
	}
	stage_stop();
	worker_stop();
	quitting = 0;
	return arg;
}

void loop_wake(void)
{
	/* the agent thread looks at every flag on each turn of its loop */
	if (uz_agent.active && !loop_is_agent_thread())
		doorbell_ring();
}

void loop_join(void)
{
	thread_join(uz_agent.thread);
}

int loop_start(void)
{
	unsigned st;
	int err;

	creds_reset(3); /* filler, worker, agent thread */
	lifeline_reset(3);
	__atomic_store_n(&table_state, 0, __ATOMIC_RELEASE);
	err = thread_spawn(agent_main, STACK_SIZE, &uz_agent.thread);
	if (err)
		return err;
	/* its table, then its two threads: nothing it does before can
	 * wait on us */
	while (!(st = __atomic_load_n(&table_state, __ATOMIC_ACQUIRE)))
		word_wait(&table_state, 0);
	return st == 2 ? table_err : 0;
}
