/* SPDX-License-Identifier: MIT */
/*
 * When the agent starts.  Connecting to the daemon, making the arena and
 * starting three threads cost a process about 1.4 ms: a script's
 * thousand /bin/true paid that each, for nothing (issue 13).  So the
 * constructor keeps only what must come before the program's first
 * mapping (the reserved range, the mm token: agent.c), and one thread
 * sleeps; it starts the agent when the process has lived
 * UZSWAP_START_DELAY_MS (default 1 s), or at once when the mmap
 * interposer has seen LAZY_WAKE_BYTES of private anonymous memory
 * mapped, or the program calls the uzswap_* API.  A process gone before
 * then never connects.  A heap that grows by brk() or by glibc's own
 * mmap() (no interposer sees those) waits for the delay.
 *
 * The interposer may only wake the thread (a futex): malloc() calls
 * mmap() with its arena locked, and starting the agent allocates.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "agent.h"
#include "lazy.h"
#include "log.h"
#include "protocol.h"

#define LAZY_DELAY_MS_DEFAULT 1000
#define LAZY_DELAY_MS_MAX 3600000
#define LAZY_WAKE_BYTES (64ull << 20)
#define STARTER_STACK (256u << 10) /* what agent_start() needs */
#define START_NOW_WAIT_MS 5000 /* connect 1 s, handshake 2 s: bounded */

enum { IDLE, PENDING, STARTING }; /* state */
enum { SLEEP, WAKE, STAND_DOWN }; /* word, the starter's futex */

static int delay_ms = LAZY_DELAY_MS_DEFAULT;
static unsigned state, word;
static uint64_t mapped; /* anonymous bytes the interposer saw */
static pthread_t starter;
static int finished; /* the starter's start is done: join it (lazy_reap) */
/* held by a start under way, and across fork(): a child never copies
 * an agent half started */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int parent_was_pending; /* read by the child hook */

void lazy_configure(void)
{
	const char *s = getenv("UZSWAP_START_DELAY_MS");
	char *end;
	long v;

	if (!s || !*s)
		return;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > LAZY_DELAY_MS_MAX)
		log_warn("UZSWAP_START_DELAY_MS=%s is not 0 to %d: %d used", s,
			 LAZY_DELAY_MS_MAX, LAZY_DELAY_MS_DEFAULT);
	else
		delay_ms = (int)v;
}

/* Wait while @w reads @seen, up to @ms; a wake or a signal ends it too. */
static void word_wait_ms(unsigned *w, unsigned seen, long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, &t, NULL, 0);
}

static void wake_word(unsigned *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
}

static void *starter_main(void *unused)
{
	uint64_t until = now_ns() + (uint64_t)delay_ms * 1000000ull, t;

	(void)unused;
	/* the daemon tells our threads from the program's by name */
	prctl(PR_SET_NAME, UZ_AGENT_THREAD_NAME);
	while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == SLEEP &&
	       (t = now_ns()) < until)
		word_wait_ms(&word, SLEEP, (long)((until - t) / 1000000) + 1);
	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == STAND_DOWN) {
		pthread_mutex_unlock(&start_lock);
		return NULL;
	}
	__atomic_store_n(&state, STARTING, __ATOMIC_RELEASE);
	agent_start();
	__atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
	wake_word(&state);
	pthread_mutex_unlock(&start_lock);
	return NULL;
}

void lazy_arm(void)
{
	if (delay_ms) {
		__atomic_store_n(&word, SLEEP, __ATOMIC_RELEASE);
		__atomic_store_n(&mapped, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&state, PENDING, __ATOMIC_RELEASE);
		if (!thread_spawn(starter_main, STARTER_STACK, &starter))
			return;
		__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
		/* no thread to wait in: start now, as before */
	}
	agent_start();
}

static void wake_starter(void)
{
	unsigned sleep = SLEEP;

	if (__atomic_compare_exchange_n(&word, &sleep, WAKE, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		wake_word(&word);
}

void lazy_note_map(size_t len)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == PENDING &&
	    __atomic_add_fetch(&mapped, len, __ATOMIC_RELAXED) >= LAZY_WAKE_BYTES)
		wake_starter();
}

void lazy_start_now(void)
{
	uint64_t until = now_ns() + START_NOW_WAIT_MS * 1000000ull, t;
	unsigned s;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == IDLE)
		return;
	wake_starter();
	while ((s = __atomic_load_n(&state, __ATOMIC_ACQUIRE)) != IDLE &&
	       (t = now_ns()) < until)
		word_wait_ms(&state, s, (long)((until - t) / 1000000) + 1);
}

int lazy_stand_down(void)
{
	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != PENDING) {
		pthread_mutex_unlock(&start_lock);
		return 0;
	}
	__atomic_store_n(&word, STAND_DOWN, __ATOMIC_RELEASE);
	wake_word(&word);
	__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&start_lock);
	thread_join(starter);
	return 1;
}

void lazy_reap(void)
{
	if (__atomic_exchange_n(&finished, 0, __ATOMIC_ACQ_REL))
		thread_join(starter);
}

void lazy_fork_prepare(void)
{
	pthread_mutex_lock(&start_lock);
	parent_was_pending = __atomic_load_n(&state, __ATOMIC_ACQUIRE) == PENDING;
}

void lazy_fork_parent(void)
{
	pthread_mutex_unlock(&start_lock);
}

int lazy_fork_child(void)
{
	pthread_mutex_init(&start_lock, NULL);
	/* a starter that had started the parent's agent: not ours */
	__atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
	if (!parent_was_pending)
		return 0;
	/* the parent's starter is not here: its stack (the only joinable
	 * one, no agent runs) is a copy, given back, and ours sleeps */
#ifndef __SANITIZE_THREAD__
	thread_stacks_forget();
#endif
	__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
	lazy_arm();
	return 1;
}
