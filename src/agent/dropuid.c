/* SPDX-License-Identifier: MIT */
/*
 * A process that changes its uid leaves an arena it shares.
 *
 * After fork() parent and child share one arena, read-write, mapped and
 * by descriptor.  A pre-fork server's worker that drops root and is then
 * compromised could read there what its parent evicts later, and write
 * frames back (with checksums of its own) for the parent to read.  So
 * before a setuid()-family call that changes a uid, in a process whose
 * arena has another holder, the agent thread brings back everything the
 * process holds, lets go of the shared arena (mapping and descriptor)
 * and goes on with a new arena of its own, connecting to the daemon
 * again while the process still has the privileges it was allowed
 * with.  Its threads stay: nothing here waits for a thread to end (an
 * earlier version stepped the whole agent aside, and a multi-threaded
 * child hung).  When that cannot be done the call fails with EAGAIN,
 * as setuid() may: a drop that keeps the arena is worse than none.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "blocks.h"
#include "dropuid.h"
#include "fds.h"
#include "fork.h"
#include "log.h"
#include "loop.h"
#include "rawkid.h"
#include "store.h"

#define UZ_EXPORT __attribute__((visibility("default")))

/* Does another process hold our arena (its owner, or a holder)? */
static int arena_shared(void)
{
	const struct uz_arena_hdr *h = uz_agent.arena;
	uint32_t me = (uint32_t)getpid();
	unsigned i;

	if (!h)
		return 0;
	if (h->owner_pid != me)
		return 1;
	for (i = 0; i < UZ_MAX_HOLDERS; i++)
		if (h->holder_pid[i] && h->holder_pid[i] != me)
			return 1;
	return 0;
}

int dropuid_own_arena(void)
{
	struct uz_arena_hdr *old = uz_agent.arena;
	struct uz_client_stats kept = *uz_agent.stats;
	uint64_t old_len = uz_agent.arena_map_len;
	unsigned old_slot = uz_agent.holder;
	int old_fd = uz_agent.arena_fd, err;

	/* a raw clone's child still reads from the arena through us */
	rawkid_drain();
	if (rawkid_busy())
		return -EBUSY;
	err = restore_everything();
	if (err)
		return err;
	if (blocks_count())
		return -EBUSY;
	err = agent_arena_make();
	if (err)
		return err;
	uz_agent.arena->codec = old->codec;
	uz_agent.arena->level = old->level;
	kept.evicted_bytes = 0; /* all of it came back */
	*uz_agent.stats = kept;
	/* children that share the old arena keep it: what they still hold
	 * is freed with the arena, once the last of them is gone */
	fork_let_go_of_children();
	if (uz_agent.uplink >= 0) {
		/* our parent lets go of our slot when the link closes */
		fd_close(uz_agent.uplink);
		uz_agent.uplink = -1;
		munmap(old, old_len);
	} else {
		struct uz_arena_hdr *mine = uz_agent.arena;

		/* store_slot_release works on the current arena */
		uz_agent.arena = old;
		store_slot_release(old_slot);
		uz_agent.arena = mine;
		munmap(old, old_len);
	}
	fd_close(old_fd);
	/* the daemon reads the new arena; a refusal now is retried as a
	 * reconnection by the agent thread */
	agent_disconnect();
	err = agent_connect(0);
	if (err)
		log_warn("uzswapd did not take our new arena yet: %s",
			 strerror(-err));
	log_info("left an arena shared with other processes before a uid change");
	return 0;
}

enum { SETUID, SETEUID, SETREUID, SETRESUID, N_CALLS };
static const char *const call_name[N_CALLS] = {
	"setuid", "seteuid", "setreuid", "setresuid",
};
/* the C library's, found before main(): setuid() is async-signal-safe,
 * dlsym() is not */
static void *next[N_CALLS];

__attribute__((constructor)) static void dropuid_find_next(void)
{
	int i;

	for (i = 0; i < N_CALLS; i++)
		next[i] = dlsym(RTLD_NEXT, call_name[i]);
}

struct uid_call {
	int which, nargs;
	uid_t a[3];
};

static int uid_call(const struct uid_call *c)
{
	void *fn = next[c->which];

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	if (c->nargs == 1)
		return ((int (*)(uid_t))fn)(c->a[0]);
	if (c->nargs == 2)
		return ((int (*)(uid_t, uid_t))fn)(c->a[0], c->a[1]);
	return ((int (*)(uid_t, uid_t, uid_t))fn)(c->a[0], c->a[1], c->a[2]);
}

/* Would the call set a uid other than the ones we have (-1: unchanged)? */
static int changes_uid(const struct uid_call *c)
{
	uid_t r, e, s;
	int i;

	if (getresuid(&r, &e, &s))
		return 1;
	for (i = 0; i < c->nargs; i++)
		if (c->a[i] != (uid_t)-1 &&
		    (c->a[i] != r || c->a[i] != e || c->a[i] != s))
			return 1;
	return 0;
}

static int uid_change(const struct uid_call *c)
{
	int r, saved;

	/* a vfork() child shares our memory (and arena) until it execs,
	 * and runs its parent's code: nothing to leave there */
	if (!agent_here() || getpid() != uz_agent.pid || loop_is_agent_thread() ||
	    !changes_uid(c))
		return uid_call(c);
	/* no fork may add a holder between the look and the call; a
	 * signal handler that landed inside fork() cannot wait for it */
	if (fork_in_hooks()) {
		r = -EDEADLK;
		goto refuse;
	}
	fork_hold();
	r = arena_shared() ? loop_request(LOOP_OWN_ARENA, 0, 0) : 0;
	if (r) {
		fork_release();
		goto refuse;
	}
	r = uid_call(c);
	saved = errno;
	fork_release();
	errno = saved;
	return r;

refuse:
	log_limited(UZ_LOG_ERR, 3, 60, "%s refused: could not leave the arena "
		    "shared with other processes first (%s)", call_name[c->which],
		    strerror(-r));
	errno = EAGAIN;
	return -1;
}

UZ_EXPORT int setuid(uid_t u)
{
	const struct uid_call c = { SETUID, 1, { u } };

	return uid_change(&c);
}

UZ_EXPORT int seteuid(uid_t e)
{
	const struct uid_call c = { SETEUID, 1, { e } };

	return uid_change(&c);
}

UZ_EXPORT int setreuid(uid_t r, uid_t e)
{
	const struct uid_call c = { SETREUID, 2, { r, e } };

	return uid_change(&c);
}

UZ_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
	const struct uid_call c = { SETRESUID, 3, { r, e, s } };

	return uid_change(&c);
}
