/* SPDX-License-Identifier: MIT */
/* Small helpers: private mappings, threads, time, counters, page presence. */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "direntries.h"
#include "fds.h"
#include "log.h"
#include "loop.h"
#include "regions.h"
#include "reserve.h"
#include "uffd_compat.h"
#include "util.h"

static void map_advise(void *p, size_t len, int huge)
{
	if (huge)
		madvise(p, len, MADV_HUGEPAGE);
	/* nothing of the application's own in a core dump */
	madvise(p, len, MADV_DONTDUMP);
}

int map_keep(void *p, size_t len, int huge)
{
	if (regions_exclude((uint64_t)p, len))
		return -ENOMEM;
	map_advise(p, len, huge);
	return 0;
}

/* In the agent's reserved range (reserve.c), already kept out of
 * evictions, while it has room: NULL when it has none. */
static void *map_reserved(size_t len, size_t align, int huge)
{
	void *p = align <= UZ_BLOCK_SIZE ? reserve_map(len, align) : NULL;

	if (p)
		map_advise(p, len, huge);
	return p;
}

/* The agent's own memory: mapped directly (never malloc, which the
 * application may be using when a fault stops it) and excluded from
 * eviction, since the agent thread must never fault on itself (NULL
 * when the exclusion table is full: such memory could be evicted). */
void *map_anon(size_t len, int huge)
{
	void *p = map_reserved(len, UZ_PAGE_SIZE, huge);

	return p ? p : map_anon_at(NULL, len, huge);
}

void *map_anon_at(void *hint, size_t len, int huge)
{
	void *p = (void *)syscall(SYS_mmap, hint, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (map_keep(p, len, huge)) {
		syscall(SYS_munmap, p, len);
		return NULL;
	}
	return p;
}

void map_release(void *p, size_t len)
{
	if (!p)
		return;
	if (reserve_holds(p, len)) {
		reserve_unmap(p, len);
		return;
	}
	syscall(SYS_munmap, p, len);
	regions_unexclude((uint64_t)p, len);
}

void map_forget(void *p, size_t len)
{
	/* in the range, the fork hook did it (reserve_forked_child) */
	if (p && !reserve_holds(p, len))
		regions_unexclude((uint64_t)p, len);
}

int map_dontfork(void *p, size_t len)
{
	if (madvise(p, len, MADV_DONTFORK))
		return -errno;
	reserve_dontfork(p, len);
	return 0;
}

void *map_optional(size_t len, size_t align, int huge)
{
	return reserve_active() ? map_reserved(len, align, huge) :
					map_aligned(len, align, huge);
}

void *map_aligned(size_t len, size_t align, int huge)
{
	uint8_t *p = map_reserved(len, align, huge), *a;

	if (p)
		return p;
	p = (void *)syscall(SYS_mmap, NULL, len + align, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		syscall(SYS_munmap, p, a - p);
	if (a + len < p + len + align)
		syscall(SYS_munmap, a + len, p + len + align - (a + len));
	if (map_keep(a, len, huge)) {
		/* the table is full: it would be the application's */
		syscall(SYS_munmap, a, len);
		return NULL;
	}
	return a;
}

struct task_walk {
	int (*fn)(pid_t tid, void *arg);
	void *arg;
};

static int task_named(const char *name, void *arg)
{
	const struct task_walk *w = arg;
	pid_t tid = (pid_t)atoi(name);

	return tid > 0 ? w->fn(tid, w->arg) : 0;
}

int tasks_each(int (*fn)(pid_t tid, void *arg), void *arg)
{
	struct task_walk w = { fn, arg };

	/* no allocation: the agent thread's faulting application thread,
	 * or a signal handler's interrupted one, may hold malloc's lock */
	return dir_each("/proc/self/task", task_named, &w);
}

int mem_zap(void *p, size_t len)
{
	if (!madvise(p, len, MADV_DONTNEED))
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* the application's mlockall() locked our memory too */
	munlock(p, len);
	return madvise(p, len, MADV_DONTNEED) ? -errno : 0;
}

/* The stacks of joinable agent threads, given back when they are
 * joined (an agent that steps aside ends its threads).  The agent thread
 * starts the filler and worker while its starter may still be noting
 * it: a slot is claimed atomically by its stack before the rest of it
 * is written (two writers of one slot could pair one thread's id with
 * another's stack, and that join would unmap a running thread's). */
#define MAX_JOINABLE 8
static struct {
	pthread_t t;
	void *stack;
	size_t size;
} joinable[MAX_JOINABLE];

static int stack_claim(void *stack, size_t size)
{
	unsigned i;

	for (i = 0; i < MAX_JOINABLE; i++) {
		void *none = NULL;

		if (__atomic_compare_exchange_n(&joinable[i].stack, &none, stack, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			joinable[i].size = size;
			return (int)i;
		}
	}
	return -1;
}

/*
 * Start a detached agent thread on a stack of its own (mapped directly,
 * like all agent memory).  It starts with every signal blocked: the
 * application's handlers must never run on it.
 */
int thread_spawn(void *(*fn)(void *), size_t stack_size, pthread_t *out)
{
	sigset_t all, old;
	pthread_attr_t attr;
	void *stack;
	pthread_t t;
	int err, slot;

#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer puts its per-thread state (~1 MB) on the stack */
	stack_size += 2u << 20;
#endif
	/* a guard page below: agent memory lies next to it */
	stack_size += UZ_PAGE_SIZE;
	stack = map_anon(stack_size, 0);
	if (!stack)
		return -ENOMEM;
	mprotect(stack, UZ_PAGE_SIZE, PROT_NONE);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, (uint8_t *)stack + UZ_PAGE_SIZE,
			      stack_size - UZ_PAGE_SIZE);
	slot = out ? stack_claim(stack, stack_size) : -1;
	err = -pthread_create(&t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		if (slot >= 0)
			__atomic_store_n(&joinable[slot].stack, NULL, __ATOMIC_RELEASE);
		map_release(stack, stack_size);
		return err;
	}
	if (out) {
		*out = t;
		if (slot >= 0)
			joinable[slot].t = t; /* read by its joiner, after us */
	} else {
		pthread_detach(t);
	}
	return 0;
}

void thread_join(pthread_t t)
{
	unsigned i;

	pthread_join(t, NULL);
	/* threads are joined while none is being started */
	for (i = 0; i < MAX_JOINABLE; i++) {
		void *stack = __atomic_load_n(&joinable[i].stack, __ATOMIC_ACQUIRE);

		if (stack && pthread_equal(joinable[i].t, t)) {
			map_release(stack, joinable[i].size);
			__atomic_store_n(&joinable[i].stack, NULL, __ATOMIC_RELEASE);
		}
	}
}

void thread_stacks_forget(void)
{
	unsigned i;

	for (i = 0; i < MAX_JOINABLE; i++) {
		map_release(joinable[i].stack, joinable[i].size);
		joinable[i].stack = NULL;
	}
}

uint32_t now_ms(void)
{
	return (uint32_t)(now_ns() / 1000000);
}

uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

void word_wait(unsigned *word, unsigned seen)
{
	/* returns at once when the word moved on since @seen */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void word_wake(unsigned *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void word_bump(unsigned *word)
{
	__atomic_add_fetch(word, 1, __ATOMIC_RELEASE);
	word_wake(word);
}

void word_set(unsigned *word, unsigned value)
{
	__atomic_store_n(word, value, __ATOMIC_RELEASE);
	word_wake(word);
}

/* Room for the variables a run sets; one longer is left out (said) */
#define ENV_SAVED_MAX 24
#define ENV_SAVED_LEN 256
static char env_saved[ENV_SAVED_MAX][ENV_SAVED_LEN];
static unsigned env_saved_n;

void uz_env_save(void)
{
	env_saved_n = 0;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "UZSWAP_", 7))
			continue;
		if (env_saved_n == ENV_SAVED_MAX ||
		    strlen(*e) >= ENV_SAVED_LEN) {
			log_warn("environment variable %.40s...: too many or "
				 "too long, ignored", *e);
			continue;
		}
		strcpy(env_saved[env_saved_n++], *e);
	}
}

const char *uz_env(const char *name)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < env_saved_n; i++)
		if (!strncmp(env_saved[i], name, n) && env_saved[i][n] == '=')
			return env_saved[i] + n + 1;
	return NULL;
}

void uz_test_delay(const char *name, int *cached)
{
	struct timespec d;

	if (*cached < 0) {
		const char *s = uz_env(name);

		*cached = s && atoi(s) > 0 ? atoi(s) : 0;
	}
	if (!*cached)
		return;
	d.tv_sec = *cached / 1000;
	d.tv_nsec = *cached % 1000 * 1000000L;
	nanosleep(&d, NULL);
}

void uz_signals_hold(sigset_t *old)
{
	sigset_t all;

	/* every bit: glibc's sigfillset() leaves out SIGCANCEL, and an
	 * asynchronous cancellation then ended a thread holding a lock */
	memset(&all, 0xff, sizeof(all));
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, old, _NSIG / 8);
}

void uz_signals_restore(const sigset_t *old)
{
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, _NSIG / 8);
}

void spin_lock(int *word, sigset_t *saved)
{
	if (!loop_is_agent_thread())
		uz_signals_hold(saved);
	while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(word, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

void spin_unlock(int *word, const sigset_t *saved)
{
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
	if (!loop_is_agent_thread())
		uz_signals_restore(saved);
}

/* Counters in the arena are read concurrently by the daemon. */
void stat_add(uint64_t *counter, int64_t delta)
{
	__atomic_fetch_add(counter, (uint64_t)delta, __ATOMIC_RELAXED);
}

static int pagemap_fd = -1;
static int have_scan = 1;

int pagemap_open(void)
{
	/* a forked child's number is its parent agent thread's: not
	 * in our table, so not closed */
	pagemap_fd = fd_hide(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	return pagemap_fd < 0 ? -errno : 0;
}

int pagemap_available(void)
{
	return pagemap_fd >= 0;
}

/* Fallback for kernels without PAGEMAP_SCAN: one read of 512 entries. */
/* The block at @start's pagemap entries, one a page, into @ent: 0 or
 * -EIO */
static int pagemap_entries(uint64_t start, uint64_t ent[UZ_PAGES_PER_BLOCK])
{
	ssize_t want = UZ_PAGES_PER_BLOCK * sizeof(uint64_t);

	return pread(pagemap_fd, ent, (size_t)want, (start / UZ_PAGE_SIZE) * 8) ==
	       want ? 0 : -EIO;
}

static int pagemap_read(uint64_t start, struct page_presence *pp)
{
	uint64_t ent[UZ_PAGES_PER_BLOCK];
	unsigned i;

	if (pagemap_entries(start, ent))
		return -EIO;
	for (i = 0; i < UZ_PAGES_PER_BLOCK; i++)
		/* bit 63 present, bit 62 swapped */
		if (ent[i] >> 62) {
			pp->bits[i / 64] |= 1ull << (i % 64);
			pp->count++;
		}
	return 0;
}

int pagemap_block_all_own(uint64_t start)
{
	uint64_t ent[UZ_PAGES_PER_BLOCK];
	unsigned i;

	if (pagemap_fd < 0 || pagemap_entries(start, ent))
		return 0;
	for (i = 0; i < UZ_PAGES_PER_BLOCK; i++)
		/* bit 63 present, bit 56 exclusively mapped */
		if (!(ent[i] >> 63) || !((ent[i] >> 56) & 1))
			return 0;
	return 1;
}

int pagemap_block(uint64_t start, struct page_presence *pp)
{
	struct page_region vec[UZ_PAGES_PER_BLOCK];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = start,
		.end = start + UZ_BLOCK_SIZE,
		.vec = (uint64_t)(uintptr_t)vec,
		.vec_len = UZ_PAGES_PER_BLOCK,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_HUGE,
	};
	long n, i;
	uint64_t a;

	memset(pp, 0, sizeof(*pp));
	if (pagemap_fd < 0)
		return -EBADF;
	if (!have_scan)
		return pagemap_read(start, pp);
	n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
	if (n < 0) {
		if (errno != ENOTTY && errno != EINVAL)
			return -errno;
		have_scan = 0;
		return pagemap_read(start, pp);
	}
	pp->huge = n == 1 && vec[0].start == start &&
		   vec[0].end == start + UZ_BLOCK_SIZE &&
		   (vec[0].categories & PAGE_IS_HUGE);
	for (i = 0; i < n; i++)
		for (a = vec[i].start; a < vec[i].end; a += UZ_PAGE_SIZE) {
			unsigned p = (a - start) / UZ_PAGE_SIZE;

			pp->bits[p / 64] |= 1ull << (p % 64);
			pp->count++;
		}
	return 0;
}

void addr_hint_note(struct addr_hint *h, uint64_t blk)
{
	if (blk < __atomic_load_n(&h->lo, __ATOMIC_RELAXED))
		__atomic_store_n(&h->lo, blk, __ATOMIC_RELAXED);
	if (blk > __atomic_load_n(&h->hi, __ATOMIC_RELAXED))
		__atomic_store_n(&h->hi, blk, __ATOMIC_RELAXED);
}

void addr_hint_add(struct addr_hint *h, uint64_t blk)
{
	/* bounds first: a reader that sees the count sees them */
	addr_hint_note(h, blk);
	__atomic_store_n(&h->count, h->count + 1, __ATOMIC_RELEASE);
}

void addr_hint_set(struct addr_hint *h, unsigned n)
{
	__atomic_store_n(&h->count, n, __ATOMIC_RELEASE);
	if (!n) {
		__atomic_store_n(&h->lo, UINT64_MAX, __ATOMIC_RELAXED);
		__atomic_store_n(&h->hi, 0, __ATOMIC_RELAXED);
	}
}

int addr_hint_may_hold(const struct addr_hint *h, uint64_t start, uint64_t len)
{
	uint64_t lo, hi;

	if (!__atomic_load_n(&h->count, __ATOMIC_ACQUIRE))
		return 0;
	lo = __atomic_load_n(&h->lo, __ATOMIC_RELAXED);
	hi = __atomic_load_n(&h->hi, __ATOMIC_RELAXED);
	return start < hi + UZ_BLOCK_SIZE && start + len > lo;
}
