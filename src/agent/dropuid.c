/* SPDX-License-Identifier: MIT */
/*
 * A process that changes its uid leaves an arena it shares.
 *
 * After fork() parent and child share one arena, read-write, mapped and
 * by descriptor.  A pre-fork server's worker that drops root and is then
 * compromised could read there what its parent evicts later, and write
 * frames back (with checksums of its own) for the parent to read.  So
 * before a setuid()-family call that changes a uid, in a process whose
 * arena has another holder, the agent thread copies what the process
 * holds there (compressed, as it is) into a new arena of its own, lets
 * go of the shared one (mapping and descriptor) and connects to the
 * daemon again while the process still has the privileges it was
 * allowed with.  Nothing is brought back: a pre-fork server's workers
 * must not each get their own copy of all the memory their parent had
 * evicted.  Its threads stay: nothing here waits for a thread to end (an
 * earlier version stepped the whole agent aside, and a multi-threaded
 * child hung).  When that cannot be done the call fails with EAGAIN, as
 * setuid() may: a drop that keeps the arena is worse than none.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
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
#include "util.h"

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

/* The arena we leave, as the agent's state had it. */
struct old_arena {
	struct uz_arena_hdr *hdr;
	uint64_t size, map_len;
	unsigned slot;
	int fd;
};

/* Copying our blocks' records into the new arena: their new indexes,
 * in blocks_for_each order (the table does not change meanwhile). */
struct carry {
	const struct old_arena *old;
	uint32_t *idx;
	uint32_t n;
	int err;
};

static void carry_one(struct block *b, void *arg)
{
	struct carry *c = arg;

	if (c->err)
		return;
	if (b->rec >= c->old->hdr->rec_count)
		c->err = -EBADMSG;
	else
		c->err = store_copy_in(arena_rec(c->old->hdr, b->rec), c->old->fd,
				       uz_agent.out_buf, (uint32_t)uz_agent.out_cap,
				       &c->idx[c->n]);
	c->n += !c->err;
}

static void carry_rename(struct block *b, void *arg)
{
	struct carry *c = arg;

	b->rec = c->idx[c->n++];
}

/* Back to the arena we were leaving (the new one is dropped). */
static void stay_in(const struct old_arena *o)
{
	munmap(uz_agent.arena, uz_agent.arena_map_len);
	fd_close(uz_agent.arena_fd);
	uz_agent.arena = o->hdr;
	uz_agent.arena_fd = o->fd;
	uz_agent.arena_size = o->size;
	uz_agent.arena_map_len = o->map_len;
	store_use_slot(o->slot);
}

/*
 * A new arena of ours, holding copies of what our blocks hold (their
 * compressed records, not the memory: a forked child brings back
 * nothing, as with kernel swap, and its resident memory does not grow),
 * our counters carried over.  On failure we stay in the old one.
 */
static int move_to_new_arena(const struct old_arena *o)
{
	struct uz_client_stats kept = *uz_agent.stats;
	uint32_t n = blocks_count();
	size_t len = ((size_t)n * sizeof(uint32_t) + 4095) & ~(size_t)4095;
	struct carry c = { o, NULL, 0, 0 };
	int err;

	if (n && !(c.idx = map_anon(len, 0)))
		return -ENOMEM;
	err = agent_arena_make();
	if (err)
		goto out;
	uz_agent.arena->codec = o->hdr->codec;
	uz_agent.arena->level = o->hdr->level;
	/* store_copy_in counts what is stored again */
	kept.stored_bytes = kept.pool_bytes = kept.blocks_stored = 0;
	*uz_agent.stats = kept;
	blocks_for_each(carry_one, &c);
	err = c.err;
	if (err) {
		stay_in(o);
		goto out;
	}
	c.n = 0;
	blocks_for_each(carry_rename, &c);
out:
	if (c.idx)
		map_release(c.idx, len);
	return err;
}

int dropuid_own_arena(void)
{
	const struct old_arena o = {
		uz_agent.arena, uz_agent.arena_size, uz_agent.arena_map_len,
		uz_agent.holder, uz_agent.arena_fd,
	};
	int err;

	/* a raw clone's child still reads from the arena through us (its
	 * slot alone made the arena look shared) */
	rawkid_drain();
	if (rawkid_busy())
		return -EBUSY;
	if (!arena_shared())
		return 0;
	err = move_to_new_arena(&o);
	if (err) {
		/* a record that does not hold together (or no memory): what
		 * can come back does, and nothing is carried */
		log_warn("could not copy what we hold into an arena of our "
			 "own (%s): bringing it back instead", strerror(-err));
		err = restore_everything();
		/* a raw clone read while restoring queued a child that
		 * reads from the old arena: filled now, or we stay */
		rawkid_drain();
		if (!err && (blocks_count() || rawkid_busy()))
			err = -EBUSY;
		if (!err)
			err = move_to_new_arena(&o);
		if (err)
			return err;
	}
	/* children that share the old arena keep it: what they still hold
	 * is freed with the arena, once the last of them is gone */
	fork_let_go_of_children();
	if (uz_agent.uplink >= 0) {
		/* our parent lets go of our slot when the link closes */
		fd_close(uz_agent.uplink);
		uz_agent.uplink = -1;
	} else {
		struct uz_arena_hdr *mine = uz_agent.arena;
		int mine_fd = uz_agent.arena_fd;

		/* store_slot_release works on the current arena */
		uz_agent.arena = o.hdr;
		uz_agent.arena_fd = o.fd;
		store_slot_release(o.slot);
		uz_agent.arena = mine;
		uz_agent.arena_fd = mine_fd;
	}
	munmap(o.hdr, o.map_len);
	fd_close(o.fd);
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
	sigset_t old;
	int r = 0, saved = 0, err;

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
	/* nor may a handler of ours fork or drop while we hold the lock */
	fork_hold(&old);
	err = arena_shared() ? loop_request(LOOP_OWN_ARENA, 0, 0) : 0;
	if (!err) {
		r = uid_call(c);
		saved = errno;
	}
	fork_release(&old);
	if (!err) {
		errno = saved;
		return r;
	}
	r = err;

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
