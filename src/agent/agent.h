/* SPDX-License-Identifier: MIT */
/* The agent's process-wide state, shared by its source files. */
#ifndef UZ_AGENT_H
#define UZ_AGENT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "arena.h"
#include "frame.h"

#define UZ_HIDDEN __attribute__((visibility("hidden")))

struct codec;

struct agent {
	int active;	/* connected once and running its thread */
	int fork_pending; /* between fork()'s prepare and parent hooks */
	int evict_hold;	  /* interposed calls under way that need no
			   * eviction until they are done (counter) */
	int evicted_once; /* an eviction has started in this process */
	unsigned holder;  /* our slot in the arena (fork) */
	int fork_event;	  /* the uffd has UFFD_FEATURE_EVENT_FORK */
	int uplink;	  /* socket to the parent that forked us, or -1 */
	int frozen;	  /* a fork is under way: no work of our own */
	int hold_uffd;	  /* a starting child: its parent serves the uffd */
	int fork_ufd;	  /* the child's uffd from the FORK event, or -1 */
	int fork_ambiguous; /* more than one FORK event in one freeze */
	int sock;	/* to uzswapd, -1 while disconnected */
	int uffd;	/* MISSING-mode uffd for the application's blocks */
	int stage_uffd; /* WP-mode uffd holding only the eviction staging */
	pid_t pid;
	int *mm_token; /* 1 in the address space the agent runs in: a
			* MADV_WIPEONFORK page, 0 in a child until it claims it */
	pthread_t thread;
	pid_t thread_tid;
	char sock_path[108];

	/* the arena, mapped shared */
	int arena_fd;
	struct uz_arena_hdr *arena;
	uint64_t arena_size;	 /* bytes of the memfd */
	uint64_t arena_map_len; /* bytes of it mapped (up to the payload) */
	struct uz_client_stats *stats;

	struct codec *codec;
	struct codec *codec2; /* the worker thread's (stage.c) */

	/* eviction staging: registered on stage_uffd only */
	uint8_t *evict_stage;
	int evict_stage_dirty; /* holds a PTE table: remap before a THP move */
	/* scratch: one frame, and one block's worth of payload */
	uint8_t *frame_buf;
	uint8_t *frame_buf2; /* the worker thread's */
	uint8_t *out_buf;
	size_t out_cap;

	/* locality */
	uint64_t seq_next_block; /* block a sequential reader reaches next */
};

extern struct agent uz_agent UZ_HIDDEN;

/*
 * Is this the address space our state belongs to?  A child made by a raw
 * clone() (no atfork hooks ran) has a copy of it, but no agent thread,
 * and locks held by threads it does not have: calling into the agent
 * there waited for ever.  A page the kernel wipes in every forked copy
 * tells (a pid would not: a vfork() child shares our memory and agent
 * thread under another pid, and a new pid namespace's first child is
 * pid 1 like its parent may be).
 */
static inline int agent_process(void)
{
	return uz_agent.mm_token && __atomic_load_n(uz_agent.mm_token, __ATOMIC_RELAXED);
}

/* ... and is the agent running in it? */
static inline int agent_here(void)
{
	return uz_agent.active && agent_process();
}

/* agent.c */
UZ_HIDDEN void agent_start(void);
UZ_HIDDEN int agent_connect(int readopt);
UZ_HIDDEN void agent_disconnect(void);
UZ_HIDDEN void agent_restart_fresh(int in_child);
/* Connect (and check whom to) now, for the next start (aside.c). */
UZ_HIDDEN void agent_preconnect(void);
UZ_HIDDEN void agent_restart_child(int ufd, int arena_fd, unsigned slot);
/* A new arena for all of RAM, ours (holder slot 0), in uz_agent. */
UZ_HIDDEN int agent_arena_make(void);
/* This address space is ours now (agent_process()): at start, and in a
 * forked child taking over. */
UZ_HIDDEN void agent_claim_mm(void);


/* util.c */
/* Keep [p, p + len), mapped by the agent, its own: never evicted (the
 * agent thread would wait on itself for a fault on it), out of core
 * dumps, a huge page if @huge.  0, or -ENOMEM when the exclusion table
 * is full (nothing done: the caller unmaps). */
UZ_HIDDEN int map_keep(void *p, size_t len, int huge);
UZ_HIDDEN void *map_anon(size_t len, int huge);
/* The same outside the reserved range, where the kernel puts it (at
 * @hint if that is free): what the range has no room for, or a test's. */
UZ_HIDDEN void *map_anon_at(void *hint, size_t len, int huge);
/* Unmap what map_anon gave: back to the agent's reserved range
 * (reserve.c), or, mapped elsewhere, the application's. */
UZ_HIDDEN void map_release(void *p, size_t len);
/* In a forked child, what was mapped MADV_DONTFORK is a hole that a new
 * mapping of the child's may fill: left to the child (nothing unmapped;
 * in the reserved range the fork hook reserved it again already). */
UZ_HIDDEN void map_forget(void *p, size_t len);
/* MADV_DONTFORK on agent memory (not copied into a forked child, where
 * it is a hole): 0 or -errno. */
UZ_HIDDEN int map_dontfork(void *p, size_t len);
UZ_HIDDEN void *map_aligned(size_t len, size_t align, int huge);
/* Memory the agent can do without (the inactive list): while the agent
 * has its reserved range, only there, never where the kernel would put
 * it while the program runs; NULL when there is no room. */
UZ_HIDDEN void *map_optional(size_t len, size_t align, int huge);
UZ_HIDDEN uint64_t now_ns(void);
/* Milliseconds of the monotonic clock, wrapping every 49 days: ages
 * are differences of two (refault history). */
UZ_HIDDEN uint32_t now_ms(void);
/* Free the pages of [p, p+len) so that they read as zero, unlocking
 * them first when an mlockall() of the application locked them (locked
 * pages cannot be dropped).  0 or -errno. */
UZ_HIDDEN int mem_zap(void *p, size_t len);
/* Call @fn for each thread of this process (/proc/self/task) until it
 * returns non-zero; returns that, 0, or -errno.  Allocates nothing. */
UZ_HIDDEN int tasks_each(int (*fn)(pid_t tid, void *arg), void *arg);
UZ_HIDDEN int thread_spawn(void *(*fn)(void *), size_t stack_size,
			   pthread_t *out);
/* Join a thread thread_spawn() left joinable, and free its stack. */
UZ_HIDDEN void thread_join(pthread_t t);
/* In a forked child: the parent's threads are not here, their stacks
 * are copies; unmap them. */
UZ_HIDDEN void thread_stacks_forget(void);
UZ_HIDDEN void stat_add(uint64_t *counter, int64_t delta);
/* Hold back every signal on this thread, SIGCANCEL and SIGSETXID too
 * (the raw system call: glibc's calls never block those two), while it
 * holds a lock that a handler, a cancellation or a fault served by the
 * agent thread would need; *@old is given back by uz_signals_restore. */
UZ_HIDDEN void uz_signals_hold(sigset_t *old);
UZ_HIDDEN void uz_signals_restore(const sigset_t *old);
/* A spinlock the interposers and the agent thread share, never held
 * across a system call.  An application thread holds it with every
 * signal held back (*@saved, given back by spin_unlock): a handler
 * taking it again, or touching evicted memory the agent thread serves
 * only after taking it too, would wait for ever.  The agent thread,
 * which blocks signals for good, takes it as is. */
UZ_HIDDEN void spin_lock(int *word, sigset_t *saved);
UZ_HIDDEN void spin_unlock(int *word, const sigset_t *saved);
/* The process's UZSWAP_* environment variables, copied by the constructor
 * before anything is evicted (uz_env_save).  Nothing of ours reads
 * environ later: a program that called setenv() or moved its environment
 * (redis's process title) keeps it in heap memory we may have evicted,
 * and the agent thread faulting there waits on itself (real_redis hung
 * so).  uz_env() is getenv() on that copy. */
UZ_HIDDEN void uz_env_save(void);
UZ_HIDDEN const char *uz_env(const char *name);
/* A test's way to widen a window: sleep for the milliseconds environment
 * variable @name says (read once, into *@cached, which starts at -1). */
UZ_HIDDEN void uz_test_delay(const char *name, int *cached);
/* A word an agent thread sleeps on instead of a descriptor (the
 * application's threads wake it, and they have none of ours). */
UZ_HIDDEN void word_wait(unsigned *word, unsigned seen);
UZ_HIDDEN void word_bump(unsigned *word);
UZ_HIDDEN void word_set(unsigned *word, unsigned value);

/*
 * A set of blocks as application threads may look at it without a lock
 * (blocks_may_hold, inactive_may_hold): how many, and the lowest and
 * highest block address since it was last empty.  Written by the agent
 * thread only; the bounds are published before the count.
 */
struct addr_hint {
	unsigned count;
	uint64_t lo, hi;
};
#define ADDR_HINT_INIT { 0, UINT64_MAX, 0 }
/* One more block, at @blk. */
UZ_HIDDEN void addr_hint_add(struct addr_hint *h, uint64_t blk);
/* A block of the set is at @blk now (moved). */
UZ_HIDDEN void addr_hint_note(struct addr_hint *h, uint64_t blk);
/* The set holds @n now (fewer, or none: the bounds start again). */
UZ_HIDDEN void addr_hint_set(struct addr_hint *h, unsigned n);
/* May a block of the set overlap [start, start + len)?  0 means no. */
UZ_HIDDEN int addr_hint_may_hold(const struct addr_hint *h, uint64_t start,
				 uint64_t len);

static inline uint64_t block_of(uint64_t addr)
{
	return addr & ~(uint64_t)(UZ_BLOCK_SIZE - 1);
}

#endif
