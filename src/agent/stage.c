/* SPDX-License-Identifier: MIT */
/*
 * Huge pages faulted ahead of need, for whole-block restores.  The first
 * touch of a fresh THP zeroes 2 MB and, in a VM, may wait for the host to
 * back it: 0.1 to 3 ms measured here, as long as decoding the block.  A
 * filler thread keeps a few faulted while the agent thread decodes, so a
 * sequential refault pays the larger of the two, not their sum.  They are
 * filled only while something is evicted, and given back after; the
 * filler runs at SCHED_IDLE, behind every decode.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "lifeline.h"
#include "restore.h"
#include "stage.h"
#include "worker.h"

#define FILLER_STACK (64u << 10)

/* ST_BROKEN: could be neither emptied nor replaced; never used again */
enum { ST_EMPTY, ST_FILLING, ST_READY, ST_IN_USE, ST_BROKEN };

static uint8_t *blocks[UZ_STAGES];
static int state[UZ_STAGES];
static int wanted; /* fill while set */
/* the memory cgroup is near its limit (limitguard.c): no filling, the
 * filler's huge pages are charged there unasked, and one that could not
 * be met the OOM killer in the filler's own fault (it_memfill) */
static int near_limit;
static unsigned filler_wakes; /* futex word (see worker.c) */
static int filler_running, filler_quit;
static pthread_t filler;

static int map_block(int i)
{
	blocks[i] = map_aligned(UZ_BLOCK_SIZE, UZ_BLOCK_SIZE, 1);
	if (!blocks[i])
		return -ENOMEM;
	/* shared with a child copy-on-write, its huge pages could no
	 * longer be moved; a child maps its own (stage_reset) */
	map_dontfork(blocks[i], UZ_BLOCK_SIZE);
	return 0;
}

int stage_init(void)
{
	int i, err;

	for (i = 0; i < UZ_STAGES; i++) {
		err = map_block(i);
		if (err)
			return err;
	}
	return 0;
}

static int claim(int i, int from, int to)
{
	return __atomic_compare_exchange_n(&state[i], &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void fill(int i)
{
	*(volatile uint8_t *)blocks[i] = 0;
}

void stage_wake(void)
{
	if (filler_running)
		word_bump(&filler_wakes);
}

static void *filler_main(void *arg)
{
	struct sched_param idle = { 0 };
	int i;

	/* who it is said first: at SCHED_IDLE on a busy machine this
	 * thread may not run again for seconds, and a step-aside waits
	 * for it to be known (aside.c) */
	creds_thread_start();
	lifeline_thread_start();
	/* only on time no one else wants: a restore waiting on a core
	 * matters more than the next staging block */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
	for (;;) {
		unsigned seen = __atomic_load_n(&filler_wakes, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&filler_quit, __ATOMIC_ACQUIRE))
			return arg;
		creds_catch_up();
		for (i = 0; i < UZ_STAGES; i++)
			if (__atomic_load_n(&wanted, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&near_limit, __ATOMIC_ACQUIRE) &&
			    claim(i, ST_EMPTY, ST_FILLING)) {
				fill(i);
				__atomic_store_n(&state[i], ST_READY, __ATOMIC_RELEASE);
			}
		word_wait(&filler_wakes, seen);
	}
	return arg;
}

int stage_start(void)
{
	int err = thread_spawn(filler_main, FILLER_STACK, &filler);

	filler_running = !err;
	return err;
}

void stage_stop(void)
{
	struct sched_param normal = { 0 };

	if (!filler_running)
		return;
	/* at SCHED_IDLE it could wait long for a core on a busy machine */
	pthread_setschedparam(filler, SCHED_OTHER, &normal);
	__atomic_store_n(&filler_quit, 1, __ATOMIC_RELEASE);
	word_bump(&filler_wakes);
	thread_join(filler);
	filler_running = filler_quit = 0;
}

struct decode_job {
	const struct block *b;
	uint8_t *stage;
};

static int decode_half(void *arg, int half)
{
	const struct decode_job *d = arg;
	const unsigned mid = UZ_FRAMES_PER_BLOCK / 2;

	return restore_decode_frames(d->b, half ? mid : 0,
				     half ? UZ_FRAMES_PER_BLOCK : mid, d->stage);
}

int stage_decode_split(const struct block *b, uint8_t *stage)
{
	struct decode_job d = { b, stage };

	return worker_split(decode_half, &d);
}

uint8_t *stage_take(int *slot)
{
	int i;

	for (i = 0; i < UZ_STAGES; i++)
		if (claim(i, ST_READY, ST_IN_USE)) {
			*slot = i;
			goto out;
		}
	/* none ready: fault one in ourselves (the filler may hold one
	 * for a moment; only broken ones are never given back) */
	for (;;) {
		int broken = 0;

		for (i = 0; i < UZ_STAGES; i++) {
			if (claim(i, ST_EMPTY, ST_IN_USE)) {
				fill(i);
				*slot = i;
				goto out;
			}
			broken += __atomic_load_n(&state[i], __ATOMIC_ACQUIRE) == ST_BROKEN;
		}
		if (broken == UZ_STAGES)
			return NULL;
	}
out:
	/* an mlockall() of the application locks staging too: the
	 * evicted memory it goes to is never locked (else it would not
	 * have been evicted), and UFFDIO_MOVE wants both sides alike */
	munlock(blocks[i], UZ_BLOCK_SIZE);
	return blocks[i];
}

/* Empty block @i: it must read as zero again (a later decode skips zero
 * frames), else it is replaced by a fresh mapping. */
static int clear(int i)
{
	if (!mem_zap(blocks[i], UZ_BLOCK_SIZE))
		return ST_EMPTY;
	if ((void *)syscall(SYS_mmap, blocks[i], UZ_BLOCK_SIZE,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return ST_BROKEN; /* its old bytes would show through */
	madvise(blocks[i], UZ_BLOCK_SIZE, MADV_HUGEPAGE);
	map_dontfork(blocks[i], UZ_BLOCK_SIZE);
	munlock(blocks[i], UZ_BLOCK_SIZE);
	return ST_EMPTY;
}

void stage_put(int slot, int drop)
{
	__atomic_store_n(&state[slot], drop ? clear(slot) : ST_EMPTY,
			 __ATOMIC_RELEASE);
	stage_wake();
}

void stage_near_limit(int near)
{
	if (__atomic_exchange_n(&near_limit, near, __ATOMIC_ACQ_REL) && !near)
		stage_wake(); /* room again: fill what was used meanwhile */
}

void stage_want(void)
{
	if (!__atomic_exchange_n(&wanted, 1, __ATOMIC_ACQ_REL))
		stage_wake();
}

void stage_release(void)
{
	int i;

	if (!__atomic_exchange_n(&wanted, 0, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < UZ_STAGES; i++)
		if (claim(i, ST_READY, ST_IN_USE))
			stage_put(i, 1);
}

/*
 * A forked child that starts afresh maps staging anew (stage_init), and
 * leaves the parent's addresses alone: they are holes here (DONTFORK),
 * and a mapping the agent makes first (its table, buffers, eviction
 * staging) may already have landed in one.  Mapping the old address
 * again with MAP_FIXED would map over it: two uses of one memory,
 * evicted pages and restored ones mixed (seen as wrong bytes).
 */
void stage_forget(void)
{
	int i;

	for (i = 0; i < UZ_STAGES; i++) {
		map_forget(blocks[i], UZ_BLOCK_SIZE); /* MADV_DONTFORK: a hole */
		blocks[i] = NULL;
		state[i] = ST_EMPTY;
	}
	wanted = 0;
	filler_running = 0;
	worker_reset();
}

void stage_free(void)
{
	int i;

	for (i = 0; i < UZ_STAGES; i++) {
		map_release(blocks[i], UZ_BLOCK_SIZE); /* NULL: nothing */
		blocks[i] = NULL;
	}
	stage_forget();
}

void stage_reset(void)
{
	int i;

	/* the parent's blocks are holes here (MADV_DONTFORK), where a
	 * pthread_atfork child handler of the program's, run before ours,
	 * may have mapped memory of its own: never mapped over, new ones
	 * mapped wherever the kernel puts them */
	for (i = 0; i < UZ_STAGES; i++) {
		map_forget(blocks[i], UZ_BLOCK_SIZE);
		state[i] = map_block(i) ? ST_BROKEN : ST_EMPTY;
	}
	wanted = 0;
	filler_running = 0;
	worker_reset();
}
