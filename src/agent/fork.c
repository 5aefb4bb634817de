/* SPDX-License-Identifier: MIT */
/*
 * fork(): parent and child each keep a correct copy of every evicted
 * page, sharing the stored block copy-on-write like kernel swap.
 *
 * The child is another holder of the same arena: before the fork, the
 * agent thread takes a holder slot for it and sets that bit in every
 * record this process holds, then freezes (the fork copies our table, so
 * it must not change).  The kernel's FORK event hands us the child's
 * userfaultfd; after the fork we pass it down a socketpair, and the
 * child starts an agent thread of its own on it.  That socketpair stays
 * open: when the child exits or execs its end closes, and we let go of
 * everything its slot held.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "advising.h"
#include "blocks.h"
#include "doorbell.h"
#include "fds.h"
#include "fork.h"
#include "rawkid.h"
#include "log.h"
#include "loop.h"
#include "regions.h"
#include "reserve.h"
#include "restore.h"
#include "store.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "zapwait.h"

/* a child waits for its parent's word as long as the parent lives: a
 * parent slowed by load, a frozen cgroup or a debugger only delays it */
#define CHILD_WAIT_WARN_MS 5000

/*
 * The link is a socketpair the forking thread makes in the application's
 * table (the child copies that one, not the agent thread's): the agent
 * thread pulls a copy of the parent's end into its own table, and the
 * forking thread closes its copies, the parent's end before the fork,
 * the child's after it.
 */
static struct {
	int app_end[2]; /* in the application's table: parent's, child's */
	ino_t app_ino[2]; /* which sockets they are: another thread may
			   * dup2() onto those numbers meanwhile */
	pid_t app_tid;  /* the forking thread */
	int link;	/* the parent's end, in the agent thread's table */
	int slot;	/* the child's holder slot, -1: none */
	int fallback;	/* no slot: bring everything back instead */
} pending = { { -1, -1 }, { 0, 0 }, 0, -1, -1, 0 };

/* Is @fd still the socket whose inode is @ino? */
static int same_socket(int fd, ino_t ino)
{
	struct stat st;

	return fd >= 0 && !fstat(fd, &st) && S_ISSOCK(st.st_mode) && st.st_ino == ino;
}

/* Close @i's end in the application's table if it is still ours (the
 * gate: a dup2() onto it cannot land between the check and the close). */
static void app_end_close(int i)
{
	int delay_ms = -1; /* a test's, read each time: between check and close */
	struct fds_gate g;

	fds_gate_enter(&g);
	if (same_socket(pending.app_end[i], pending.app_ino[i])) {
		uz_test_delay("UZSWAP_TEST_FD_CLOSE_DELAY_MS", &delay_ms);
		fd_close(pending.app_end[i]);
	} else
		fd_forget(pending.app_end[i]); /* the application's now */
	pending.app_end[i] = -1;
	fds_gate_leave(&g);
}

/* Events for a starting child, handed to it with 'A'; drops among them
 * shape what we serve it meanwhile.  First the drops of ours read between
 * the snapshot and the FORK event (fork_window_drop, n_window of them),
 * then the child's own events read while we serve its uffd: a budget of
 * each, so that many drops in the window cannot crowd out the child's. */
#define WINDOW_DROPS_MAX 256
#define NURSE_EVENTS_MAX 64
static struct uffd_msg nursed[WINDOW_DROPS_MAX + NURSE_EVENTS_MAX];
static unsigned n_nursed, n_window;

/* One of the child's own events, or an error said when there is no room. */
static void nursed_add(const struct uffd_msg *m)
{
	if (n_nursed - n_window < NURSE_EVENTS_MAX) {
		nursed[n_nursed++] = *m;
		return;
	}
	log_limited(UZ_LOG_ERR, 3, 60, "forked child: more than %u events "
		    "while it starts; event %u lost", NURSE_EVENTS_MAX, m->event);
}

/*
 * A REMOVE of ours read while a fork is frozen, before its FORK event:
 * the child starts from the table as the snapshot had it, and its memory
 * is copied later, maybe after the zap (another thread's free(), whose
 * glibc drops memory by a raw madvise under the arena's lock, which the
 * fork takes after our prepare hook: that zap comes before the copy).
 * The drop goes to the child too.  Not always right: a drop the kernel
 * made after the copy (a caller that holds no lock the fork takes: a
 * purge thread of another allocator, a garbage collector) leaves the
 * child the old bytes in the range's resident pages and now zeros in its
 * evicted ones; before, it had old bytes where a calloc() may count on
 * zeros, the likelier case.  Drops that overlap or touch are merged.  (An
 * UNMAP or REMAP is not handed on: DESIGN.md section 9, "Known gap".)
 */
void fork_window_drop(const struct uffd_msg *m)
{
	uint64_t s = m->arg.remove.start, e = m->arg.remove.end;
	unsigned i;

	if (!uz_agent.frozen || pending.slot < 0)
		return;
	for (i = 0; i < n_window; i++) {
		struct uffd_msg *w = &nursed[i];

		if (s <= w->arg.remove.end && e >= w->arg.remove.start) {
			w->arg.remove.start = s < w->arg.remove.start ? s : w->arg.remove.start;
			w->arg.remove.end = e > w->arg.remove.end ? e : w->arg.remove.end;
			return;
		}
	}
	if (n_window < WINDOW_DROPS_MAX) {
		nursed[n_window++] = *m;
		n_nursed = n_window;
		return;
	}
	log_limited(UZ_LOG_ERR, 3, 60, "forked child: more than %u drops in "
		    "the fork's window; the child may read old bytes in "
		    "%#lx-%#lx", WINDOW_DROPS_MAX, (unsigned long)s,
		    (unsigned long)e);
}

static struct kid {
	int fd;
	unsigned slot;
} kids[UZ_MAX_HOLDERS];
static unsigned n_kids;

static void hold_for_child(struct block *b, void *arg)
{
	store_hold(b->rec, *(unsigned *)arg);
}

int fork_prepare(void)
{
	int slot;

	pending.fallback = 0;
	pending.slot = -1;
	pending.link = -1;
	if (!uz_agent.fork_event) {
		/* the child's VMAs lose their registration: its copy of an
		 * evicted page would read as zero, so bring it all back */
		pending.fallback = 1;
		return 0;
	}
	pending.link = pending.app_end[0] < 0 ? -EBADF :
		       fds_pull(pending.app_tid, pending.app_end[0]);
	if (pending.link >= 0 && !same_socket(pending.link, pending.app_ino[0])) {
		fd_close(pending.link);
		pending.link = -ESTALE; /* the number is another file now */
	}
	if (pending.link < 0) {
		log_warn("fork: no link to the child: %s; bringing evicted "
			 "memory back first", strerror(-pending.link));
		pending.link = -1;
		pending.fallback = 1;
		return 0;
	}
	slot = store_slot_alloc(UINT32_MAX); /* the child fills in its pid */
	if (slot < 0) {
		/* every slot taken: the old way, the child gets it all */
		pending.fallback = 1;
		return 0;
	}
	/* the child's copy of the table, and its hold on every record */
	if (blocks_snapshot(hold_for_child, &slot)) {
		store_slot_release(slot);
		pending.fallback = 1;
		return 0;
	}
	pending.slot = slot;
	n_nursed = n_window = 0; /* drops read from here go to the child */
	uz_agent.fork_ufd = -1;
	uz_agent.frozen = 1;
	return 0;
}

/* Send the child its uffd and the arena ('U' with both) or tell it to
 * start afresh.  0, or -errno when the child cannot be reached. */
static int send_child(int fd)
{
	char tag = fd >= 0 ? 'U' : 'N';
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	int fds[2] = { fd, uz_agent.arena_fd };
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
	}
	if (sendmsg(pending.link, &mh, MSG_NOSIGNAL) < 0) {
		log_warn("fork: cannot reach the child: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Was page @a of the starting child dropped (MADV_DONTNEED, munmap)? */
static int nursed_dropped(uint64_t a)
{
	unsigned i;

	for (i = 0; i < n_nursed; i++)
		if ((nursed[i].event == UFFD_EVENT_REMOVE ||
		     nursed[i].event == UFFD_EVENT_UNMAP) &&
		    a >= nursed[i].arg.remove.start && a < nursed[i].arg.remove.end)
			return 1;
	return 0;
}

/* one of the child's faults, from the table as the fork found it */
static void nurse_fault(int ufd, uint64_t addr)
{
	static uint8_t frame[UZ_FRAME_SIZE] __attribute__((aligned(4096)));
	uint64_t blk = block_of(addr), page = addr & ~(uint64_t)(UZ_PAGE_SIZE - 1);
	const struct block *b = blocks_snapshot_find(blk);
	unsigned f = (unsigned)((addr - blk) / UZ_FRAME_SIZE), pg;
	uint64_t fs = blk + (uint64_t)f * UZ_FRAME_SIZE;
	int err;

	if (!b || !(b->stored & (1u << f)) || nursed_dropped(page)) {
		err = uffd_fill_range(ufd, uffd_op_zero, page, NULL, UZ_PAGE_SIZE);
	} else if (restore_decode(b, f, frame)) {
		err = uffd_fill_range(ufd, uffd_op_poison, fs, NULL, UZ_FRAME_SIZE);
	} else {
		/* what the child dropped meanwhile reads as zero; the child's
		 * table still says stored: its own restore later finds these
		 * pages there (EEXIST) and steps over them */
		for (pg = 0; pg < UZ_PAGES_PER_FRAME; pg++)
			if (nursed_dropped(fs + (uint64_t)pg * UZ_PAGE_SIZE))
				memset(frame + pg * UZ_PAGE_SIZE, 0, UZ_PAGE_SIZE);
		err = uffd_fill_range(ufd, uffd_op_copy, fs, frame, UZ_FRAME_SIZE);
	}
	if (err)
		uffd_wake(ufd, page, UZ_PAGE_SIZE);
}

/* Read what the starting child's uffd has: faults served, events kept. */
static void nurse_read(int ufd)
{
	struct uffd_msg m[16];
	ssize_t n = read(ufd, m, sizeof(m));
	int i;

	for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++) {
		if (m[i].event == UFFD_EVENT_PAGEFAULT) {
			nurse_fault(ufd, m[i].arg.pagefault.address);
		} else if (m[i].event == UFFD_EVENT_FORK) {
			close((int)m[i].arg.fork.ufd); /* a raw clone: unserved */
		} else {
			nursed_add(&m[i]);
		}
	}
}

/*
 * Serve the child's faults until its own agent runs.  Starting its agent
 * threads makes glibc allocate each one's TLS vector with the
 * application's calloc, in memory that may be evicted, before any of
 * them can serve a fault: the child waited on itself (redis's BGSAVE,
 * jemalloc).  We hold its userfaultfd (the FORK event's) and the table
 * it starts from.  Its agent thread does not read its uffd (hold_uffd)
 * until it has acted on the events we read meanwhile, which we hand it
 * with our 'A' in answer to its 'R' (its threads run).  No time limit:
 * a stopped child is waited for as long as it lives (its link hangs up
 * when it dies), and a child a debugger keeps stopped holds up the fork
 * and every other thread's request, an exit's too.  Our own faults are
 * served meanwhile.  No request can come (the forking thread's holds
 * the request channel, and we run inside serving it): a wake-up is only
 * drained, and repeated after.
 */
static int nurse_child(int ufd, int link)
{
	static char answer[1 + sizeof(nursed)];
	int woken = 0, said = 0;
	ssize_t got;
	char c;

	/* nursed[] holds the drops of the fork's window already */
	for (;;) {
		struct pollfd p[4] = { { ufd, POLLIN, 0 }, { link, POLLIN, 0 },
				       { uz_agent.uffd, POLLIN, 0 },
				       { doorbell_fd(), POLLIN, 0 } };

		/* our faults kept or to retry (restore_pending) are served
		 * within a millisecond here too: no message comes for them */
		if (fd_poll(p, 4, restore_pending() ? 1 : -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			nurse_read(ufd);
		if (p[2].revents & POLLIN || restore_pending())
			restore_poll();
		if (p[3].revents & POLLIN)
			woken = doorbell_drain() || woken;
		if (!p[1].revents)
			continue;
		/* 'R'; or the link ended first: the child is gone, or its
		 * agent could not take over */
		got = recv(link, &c, 1, MSG_DONTWAIT);
		said = got == 0 || (got < 0 && errno != EAGAIN) ? -1 : 0;
		if (got == 1 && c == 'R') {
			said = 1;
			nurse_read(ufd); /* whatever came before its 'R' */
			answer[0] = 'A';
			memcpy(answer + 1, nursed, n_nursed * sizeof(nursed[0]));
			if (send(link, answer, 1 + n_nursed * sizeof(nursed[0]),
				 MSG_NOSIGNAL) < 0)
				log_warn("forked child: cannot answer: %s",
					 strerror(errno));
		}
		break;
	}
	(void)woken; /* the main loop looks at every flag on its next turn */
	return said;
}

/* The child's side: our threads run; take the parent's events, act on
 * them, then let our agent thread read our uffd. */
static void child_handoff(void)
{
	static char answer[1 + sizeof(nursed)];
	struct pollfd p = { uz_agent.uplink, POLLIN, 0 };
	char c = 'R';
	ssize_t n = -1;

	if (send(uz_agent.uplink, &c, 1, MSG_NOSIGNAL) == 1) {
		while (fd_poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		n = recv(uz_agent.uplink, answer, sizeof(answer), MSG_DONTWAIT);
	}
	if (n >= 1 && answer[0] == 'A') {
		uint64_t k = (uint64_t)(n - 1) / sizeof(nursed[0]);

		memcpy(nursed, answer + 1, k * sizeof(nursed[0]));
		if (k)
			loop_request(LOOP_EVENTS, (uintptr_t)nursed, k);
	} else {
		log_warn("forked child %d: no answer from the parent's agent",
			 (int)getpid());
	}
	__atomic_store_n(&uz_agent.hold_uffd, 0, __ATOMIC_RELEASE);
	loop_wake();
}

int fork_done(void)
{
	int ufd = uz_agent.fork_ufd;

	if (uz_agent.frozen) {
		/* no FORK event: no child, or one with nothing registered */
		uz_agent.frozen = 0;
		restore_replay();
	}
	uz_agent.fork_ufd = -1;
	if (uz_agent.fork_ambiguous) {
		/* two FORK events (events.c): ours is one of them */
		if (ufd >= 0)
			rawkid_adopt(ufd, 1);
		ufd = -1;
		uz_agent.fork_ambiguous = 0;
	}
	if (pending.link < 0) {
		/* no link: everything came back before the fork, and the
		 * child's uffd closed unregisters its copies */
		if (ufd >= 0)
			close(ufd);
		return 0;
	}
	{
		/* a test's: the parent late to answer its child */
		static int late_ms = -1;

		uz_test_delay("UZSWAP_TEST_FORK_DELAY_MS", &late_ms);
	}
	if (send_child(pending.slot >= 0 ? ufd : -1) < 0 ||
	    (ufd >= 0 && pending.slot >= 0 && nurse_child(ufd, pending.link) < 0)) {
		if (ufd >= 0 && pending.slot >= 0) {
			/* the child's own agent did not take over (its link
			 * was lost, or it could not start): its evicted pages
			 * go in from here, as a raw clone's do; a dead one is
			 * let go at once */
			rawkid_adopt_forked(ufd, nursed, n_nursed);
			ufd = -1;
		}
	}
	if (ufd >= 0 && pending.slot >= 0 && n_kids < UZ_MAX_HOLDERS) {
		close(ufd);
		kids[n_kids].fd = pending.link;
		kids[n_kids].slot = pending.slot;
		n_kids++;
	} else {
		/* no child (fork failed) or one with nothing of ours */
		if (ufd >= 0)
			close(ufd);
		fd_close(pending.link);
		if (pending.slot >= 0)
			store_slot_release(pending.slot);
	}
	pending.link = -1;
	pending.slot = -1;
	return 0;
}

void fork_forget(void)
{
	n_kids = 0;
	pending.link = pending.slot = -1;
	pending.app_end[0] = pending.app_end[1] = -1;
}

void fork_let_go_of_children(void)
{
	while (n_kids)
		fd_close(kids[--n_kids].fd);
}

int fork_pollfds(struct pollfd *p, int max)
{
	unsigned i;

	for (i = 0; i < n_kids && (int)i < max; i++) {
		p[i].fd = kids[i].fd;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	return (int)i;
}

void fork_pollfds_done(const struct pollfd *p, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		char c;

		if (!(p[i].revents & (POLLHUP | POLLERR | POLLIN | POLLNVAL)))
			continue;
		/* a child's late 'R' (nurse_child stopped early: a poll
		 * error): answer it; only the end of the link means gone */
		if (!(p[i].revents & (POLLHUP | POLLERR | POLLNVAL)) &&
		    recv(kids[i].fd, &c, 1, MSG_DONTWAIT) == 1) {
			if (c == 'R')
				send(kids[i].fd, "A", 1, MSG_NOSIGNAL);
			continue;
		}
		/* the child exited or exec'd: nothing of its copy remains */
		store_slot_release(kids[i].slot);
		if (!(p[i].revents & POLLNVAL)) /* else the number is not ours */
			fd_close(kids[i].fd);
		else
			fd_forget(kids[i].fd);
		kids[i] = kids[--n_kids];
	}
}

/*
 * One fork at a time, from its prepare hook to its parent and child
 * hooks: they share `pending`, the freeze and the child's uffd.  Two
 * threads forking at once mixed them up (one child got the other's
 * channel and waited forever, the freeze was lifted under the second
 * fork).  Taken last among the prepare handlers (ours were registered
 * first), given back first among the parent handlers.
 */
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int holding_fork_lock;
/* the mask and cancellation state from before the prepare hook, given
 * back by the other two: fork() is no cancellation point, but close()
 * and poll() in our hooks are, and a pending cancellation ended the
 * thread there holding the fork lock */
static __thread sigset_t fork_hook_mask;
static __thread int fork_hook_cancel;

int fork_in_hooks(void)
{
	return holding_fork_lock;
}

/*
 * Whoever holds the lock does so with the program's signals blocked: a
 * handler that forks, or calls an interposer that takes the lock
 * (madvise(MADV_WIPEONFORK), a set*id call), would wait on its own
 * thread.  glibc's own two (cancellation, set*id broadcast) stay open:
 * a set*id in another thread must not wait for us.
 */
static void signals_block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void fork_hold(sigset_t *old)
{
	signals_block(old);
	pthread_mutex_lock(&fork_lock);
}

int fork_try_hold(sigset_t *old)
{
	signals_block(old);
	if (!holding_fork_lock && !pthread_mutex_trylock(&fork_lock))
		return 1;
	pthread_sigmask(SIG_SETMASK, old, NULL);
	return 0;
}

void fork_release(const sigset_t *old)
{
	pthread_mutex_unlock(&fork_lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void fork_prepare_hook(void)
{
	if (!agent_here())
		return;
	signals_block(&fork_hook_mask);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &fork_hook_cancel);
	pthread_mutex_lock(&fork_lock);
	holding_fork_lock = 1;
	/* no eviction may slip in between this and the fork itself */
	__atomic_store_n(&uz_agent.fork_pending, 1, __ATOMIC_SEQ_CST);
	pending.app_end[0] = pending.app_end[1] = -1;
	pending.app_tid = (pid_t)syscall(SYS_gettid);
	if (uz_agent.fork_event) {
		struct fds_gate g;
		struct stat st;
		int i;

		/* made, moved up and looked at with no dup2() in between */
		fds_gate_enter(&g);
		if (!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				pending.app_end))
			for (i = 0; i < 2; i++) {
				pending.app_end[i] = fd_hide(pending.app_end[i]);
				pending.app_ino[i] = fstat(pending.app_end[i], &st) ?
							     0 : st.st_ino;
			}
		fds_gate_leave(&g);
	}
	/* our stack pointer: the child's hook runs below it before the
	 * child's agent thread exists (see loop.c) */
	if (loop_request(LOOP_FORK_PREPARE,
			 (uintptr_t)__builtin_frame_address(0), 0) ||
	    pending.fallback)
		loop_request(LOOP_RESTORE_RANGE, 0, UINT64_MAX);
	/* the agent thread has its copy (or none: then the child sees the
	 * link end at once and starts afresh) */
	app_end_close(0);
	{
		/* a test's: the fork held with the agent frozen */
		static int freeze_ms = -1;

		uz_test_delay("UZSWAP_TEST_FORK_FREEZE_MS", &freeze_ms);
	}
}

void fork_parent_hook(void)
{
	if (!holding_fork_lock)
		return;
	/* the child's end is the child's now: its death hangs the link up
	 * (the agent thread may wait on that in LOOP_FORK_DONE) */
	app_end_close(1);
	loop_request(LOOP_FORK_DONE, 0, 0);
	__atomic_store_n(&uz_agent.fork_pending, 0, __ATOMIC_SEQ_CST);
	holding_fork_lock = 0;
	fork_release(&fork_hook_mask);
	pthread_setcancelstate(fork_hook_cancel, NULL);
}

/* Wait for the parent's word: our uffd and the arena (returned, and in
 * *@arena_fd), or -1 to start afresh. */
static int child_receive(int sock, int *arena_fd)
{
	char tag = 0, cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { sock, POLLIN, 0 };
	struct cmsghdr *c;
	int fds[2] = { -1, -1 };
	unsigned waited = 0;
	int n;

	/* the parent's end closes if it dies first: then poll returns */
	while ((n = fd_poll(&p, 1, CHILD_WAIT_WARN_MS)) == 0 ||
	       (n < 0 && errno == EINTR)) {
		waited += n ? 0 : CHILD_WAIT_WARN_MS / 1000;
		if (!n)
			log_limited(UZ_LOG_WARN, 1, 60, "forked child %d: still "
				    "waiting for the parent's agent (%u s)",
				    (int)getpid(), waited);
	}
	if (n != 1 || recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || tag != 'U')
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		/* a full table takes what fits and truncates the rest: a
		 * uffd kept from that would hold our registrations */
		memcpy(fds, CMSG_DATA(c), (n < 2 ? n : 2) * sizeof(int));
		if (n != 2 || (mh.msg_flags & MSG_CTRUNC)) {
			if (n >= 1)
				close(fds[0]);
			if (n >= 2)
				close(fds[1]);
			fds[0] = fds[1] = -1;
		}
	}
	if (fds[0] < 0 || fds[1] < 0)
		return -1;
	*arena_fd = fds[1];
	return fds[0];
}

void fork_child_hook(void)
{
	int ufd, arena_fd = -1;

	fds_fork_child_first();
	/* before anything maps or unmaps: that takes the tables' lock */
	regions_reset_child();
	advising_reset_child(); /* those calls were other threads' */
	zapwait_clear();
	/* first: the parent's MADV_DONTFORK memory left holes in the
	 * agent's range, where the arena mapped below (or anything) would
	 * go, and the range would stay short by that much for good */
	reserve_forked_child();
	if (!holding_fork_lock)
		return;
	/* not inherited (store_map): mapped again from the descriptor the
	 * parent sends, or a new arena is made */
	uz_agent.arena = NULL;
	uz_agent.stats = NULL;
	/* the parent's raw clones' children are the parent's to fill */
	rawkid_forget();
	/* the child's copy, held by a thread that is not in the child */
	holding_fork_lock = 0;
	pthread_mutex_init(&fork_lock, NULL);
	fds_gate_reset_child();
	/* the parent's links are in its agent thread's table, not here */
	n_kids = 0;
	uz_agent.uplink = pending.link = -1;
	/* another thread of the parent may have dup2()ed onto it */
	if (!same_socket(pending.app_end[1], pending.app_ino[1])) {
		fd_forget(pending.app_end[1]);
		pending.app_end[1] = -1;
	}
	/* with no table of its own (unshare refused), the parent's agent
	 * kept its descriptors in the program's, and the fork copied them:
	 * the parent's, never used here (ours are made anew below), they
	 * piled up a set a generation */
	if (loop_shares_table())
		fds_close_inherited(pending.app_end[1]);
	/* the wait for the parent's word has no end (it must not lose the
	 * stored memory): the program's own signals may end it, as before
	 * the fork, not only SIGKILL */
	pthread_sigmask(SIG_SETMASK, &fork_hook_mask, NULL);
	ufd = pending.app_end[1] >= 0 ?
		child_receive(pending.app_end[1], &arena_fd) : -1;
	signals_block(NULL);
	if (ufd >= 0) {
		uz_agent.uplink = pending.app_end[1];
		/* the parent serves our uffd until child_handoff */
		uz_agent.hold_uffd = 1;
		agent_restart_child(ufd, arena_fd, pending.slot);
		if (uz_agent.active) {
			child_handoff();
			/* our agent thread has its copies (uplink among them) */
			if (!loop_shares_table())
				fds_leave_app();
		} else {
			/* no agent here (a full descriptor table, say): hang
			 * up without 'R', and the parent fills our evicted
			 * memory as a raw clone's (nurse_child) */
			fds_leave_app();
			agent_restart_fresh(1);
		}
	} else {
		fd_close(pending.app_end[1]);
		agent_restart_fresh(1);
	}
	pending.app_end[1] = -1;
	pending.slot = -1;
	/* the child's handlers run from here, its agent (if any) up */
	pthread_sigmask(SIG_SETMASK, &fork_hook_mask, NULL);
	pthread_setcancelstate(fork_hook_cancel, NULL);
}
