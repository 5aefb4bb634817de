/* SPDX-License-Identifier: MIT */
/*
 * The agent's own address range.  Memory the agent mapped while the
 * program ran used to go wherever the kernel put it, and that can be a
 * hole the program has just left and is about to fill again with
 * MAP_FIXED or MREMAP_FIXED (glibc's realloc moves memory away and back
 * so): the program's mapping then replaced the agent's, and the agent
 * thread faulted on its own uffd and waited on itself (review F3,
 * it_remaptwice).  So one range is reserved, PROT_NONE, when the agent
 * starts (in the library's constructor, before the program has made any
 * hole), and the agent's mappings are carved out of it with MAP_FIXED,
 * never elsewhere while there is room.
 *
 * A bitmap of pages says what is taken.  A page is marked before it is
 * mapped and cleared only after it is reserved again, so a fork in
 * between leaves the child with a page marked that is free (never one
 * free that is mapped).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "regions.h"
#include "reserve.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* What the agent maps: staging and inactive slots (138 MB), buffers and
 * codecs (about 15 MB), the block table (3 MB for 24 GB of RAM), thread
 * stacks.  Address space only until touched, but it counts against
 * RLIMIT_AS: halved until it fits.  What does not fit is mapped
 * elsewhere, as before, but for the inactive slots (map_optional). */
#define RESERVE_MAX (256ul << 20)
#define RESERVE_MIN (32ul << 20)
#define PAGES_MAX (RESERVE_MAX / UZ_PAGE_SIZE)

static uint8_t *base;
static size_t n_pages;
static int tried;
/* pages handed out (or lost to a child's mapping); pages whose mapping
 * is MADV_DONTFORK, holes in a forked child */
static uint64_t taken[PAGES_MAX / 64], dontfork[PAGES_MAX / 64];
static int lock_word;

static void lock(sigset_t *saved)
{
	spin_lock(&lock_word, saved);
}

static void unlock(const sigset_t *saved)
{
	spin_unlock(&lock_word, saved);
}

static void mark(uint64_t *map, size_t first, size_t n, int on)
{
	size_t i;

	for (i = first; i < first + n; i++)
		if (on)
			map[i / 64] |= 1ull << (i % 64);
		else
			map[i / 64] &= ~(1ull << (i % 64));
}

/* PROT_NONE over [p, p + len): with MAP_FIXED (replacing ours) or
 * MAP_FIXED_NOREPLACE (a hole that may be someone else's by now). */
static void *reserve_at(void *p, size_t len, int fixed_flag)
{
	return (void *)syscall(SYS_mmap, p, len, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				       fixed_flag,
			       -1, 0);
}

/* After mlockall(MCL_FUTURE) every new mapping is locked, PROT_NONE
 * too: counted in the program's VmLck and against its RLIMIT_MEMLOCK,
 * where a later mmap() of its own then failed.  The agent's memory needs
 * no lock (staging must not have one: UFFDIO_MOVE wants both sides
 * alike). */
static void not_locked(void *p, size_t len)
{
	munlock(p, len);
}

void reserve_unlock(void)
{
	if (base)
		not_locked(base, n_pages * UZ_PAGE_SIZE);
}

void reserve_init(void)
{
	size_t len = RESERVE_MAX;
	uint8_t *p = MAP_FAILED, *a;
	struct rlimit as;

	/* once: tried again later (a restart), it would map while the
	 * program runs, where the kernel puts it */
	if (tried)
		return;
	tried = 1;
	/* under an address-space limit, an eighth of it at most: the
	 * program's own mappings count against it too */
	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur != RLIM_INFINITY)
		while (len >= RESERVE_MIN && len > as.rlim_cur / 8)
			len /= 2;
	/* 2 MB more, to start on a huge page boundary */
	while (len >= RESERVE_MIN &&
	       (p = reserve_at(NULL, len + UZ_BLOCK_SIZE, 0)) == MAP_FAILED)
		len /= 2;
	if (p == MAP_FAILED)
		return;
	a = (uint8_t *)(((uintptr_t)p + UZ_BLOCK_SIZE - 1) &
			~(uintptr_t)(UZ_BLOCK_SIZE - 1));
	if (a > p)
		syscall(SYS_munmap, p, a - p);
	syscall(SYS_munmap, a + len, p + len + UZ_BLOCK_SIZE - (a + len));
	/* one exclusion for all of it: the agent thread must never fault
	 * on its own memory, and the table keeps its room for the rest */
	if (regions_exclude((uint64_t)a, len)) {
		syscall(SYS_munmap, a, len);
		return;
	}
	madvise(a, len, MADV_DONTDUMP);
	n_pages = len / UZ_PAGE_SIZE;
	base = a;
}

int reserve_active(void)
{
	return base != NULL;
}

int reserve_holds(const void *p, size_t len)
{
	return base && (const uint8_t *)p >= base &&
	       (const uint8_t *)p + len <= base + n_pages * UZ_PAGE_SIZE;
}

/* The first page from @i on whose bit in @map is @want (0 or 1), or
 * @end: a word at a time where a word has none (the agent maps some 30
 * things at its start, past a 138 MB run of slots already taken: a bit
 * at a time, that walk was 3 % of a short command's time). */
static size_t next_bit(const uint64_t *map, size_t i, size_t end, int want)
{
	while (i < end) {
		uint64_t w = (want ? map[i / 64] : ~map[i / 64]) >> (i % 64);

		if (w) {
			i += (size_t)__builtin_ctzll(w);
			return i < end ? i : end;
		}
		i = (i / 64 + 1) * 64;
	}
	return end;
}

/* No page below this one is free (a hint: pages above it may be taken) */
static size_t free_from;

static size_t round_up(size_t i, size_t step)
{
	return (i + step - 1) / step * step;
}

/* First fit of @n pages starting on a multiple of @step pages, marked
 * taken: its first page, or n_pages when there is no room. */
static size_t claim(size_t n, size_t step)
{
	size_t i, j;
	sigset_t saved;

	lock(&saved);
	i = round_up(next_bit(taken, free_from, n_pages, 0), step);
	while (i + n <= n_pages) {
		j = next_bit(taken, i, i + n, 1);
		if (j == i + n) {
			mark(taken, i, n, 1);
			if (free_from >= i && free_from < i + n)
				free_from = i + n;
			unlock(&saved);
			return i;
		}
		i = round_up(next_bit(taken, j, n_pages, 0), step);
	}
	unlock(&saved);
	return n_pages;
}

/* Pages [first, first + n) free again (the lock held, or the only
 * thread: a forked child) */
static void mark_free(size_t first, size_t n)
{
	mark(taken, first, n, 0);
	if (first < free_from)
		free_from = first;
}

static void unclaim(size_t first, size_t n)
{
	sigset_t saved;

	lock(&saved);
	mark_free(first, n);
	mark(dontfork, first, n, 0);
	unlock(&saved);
}

void *reserve_map(size_t len, size_t align)
{
	size_t n = (len + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE;
	size_t step = align > UZ_PAGE_SIZE ? align / UZ_PAGE_SIZE : 1;
	size_t first;
	uint8_t *p;

	if (!base || !n)
		return NULL;
	first = claim(n, step);
	if (first == n_pages)
		return NULL;
	p = base + first * UZ_PAGE_SIZE;
	if ((void *)syscall(SYS_mmap, p, n * UZ_PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			    0) == MAP_FAILED) {
		/* the range is as it was (MAP_FIXED failed before replacing) */
		unclaim(first, n);
		return NULL;
	}
	not_locked(p, n * UZ_PAGE_SIZE);
	return p;
}

/* [p, p + len) reserved again, as reserve_init left it: 0, or -1 when
 * it could not be (with @fixed_flag MAP_FIXED_NOREPLACE: something is
 * mapped there, errno EEXIST). */
static int reserve_again(uint8_t *p, size_t len, int fixed_flag)
{
	void *r = reserve_at(p, len, fixed_flag);

	if (r != p) {
		if (r != MAP_FAILED) { /* a kernel older than 4.17: a hint */
			syscall(SYS_munmap, r, len);
			errno = EEXIST;
		}
		return -1;
	}
	not_locked(p, len);
	madvise(p, len, MADV_DONTDUMP);
	return 0;
}

void reserve_unmap(void *p, size_t len)
{
	size_t n = (len + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE;

	if (reserve_again(p, n * UZ_PAGE_SIZE, MAP_FIXED))
		return; /* still mapped: stays taken */
	unclaim((size_t)((uint8_t *)p - base) / UZ_PAGE_SIZE, n);
}

void reserve_dontfork(void *p, size_t len)
{
	sigset_t saved;

	if (!reserve_holds(p, len))
		return;
	lock(&saved);
	mark(dontfork, (size_t)((uint8_t *)p - base) / UZ_PAGE_SIZE,
	     (len + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE, 1);
	unlock(&saved);
}

/* Pages [first, first + n), a hole in this forked child, reserved again;
 * where something of the child's was mapped first (a handler that ran
 * before ours), those pages stay taken, never handed out, and may be
 * evicted: they are the program's. */
static void refill(size_t first, size_t n)
{
	uint8_t *p = base + first * UZ_PAGE_SIZE;

	mark(dontfork, first, n, 0);
	if (!reserve_again(p, n * UZ_PAGE_SIZE, MAP_FIXED_NOREPLACE)) {
		mark_free(first, n);
		return;
	}
	if (errno != EEXIST) /* nothing to split */
		return;
	if (n == 1) {
		regions_unexclude((uint64_t)p, UZ_PAGE_SIZE);
		return;
	}
	refill(first, n / 2);
	refill(first + n / 2, n - n / 2);
}

void reserve_forked_child(void)
{
	size_t i, j;

	/* whatever held it is not in the child, which has one thread */
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
	/* each run of them (n_pages is 0 without a range) */
	for (i = next_bit(dontfork, 0, n_pages, 1); i < n_pages;
	     i = next_bit(dontfork, j, n_pages, 1)) {
		j = next_bit(dontfork, i, n_pages, 0);
		refill(i, j - i);
	}
}
