/* SPDX-License-Identifier: MIT */
/* The agent's side of its arena: records, extents and their memory. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fds.h"
#include "reserve.h"
#include "store.h"

void store_lock(void)
{
	int err = pthread_mutex_lock(&uz_agent.arena->lock);

	/* A process that shared the arena died holding the lock.  Every
	 * update under it is ordered so that a half-done one only leaks
	 * space, never hands out space in use, so carry on. */
	if (err == EOWNERDEAD)
		pthread_mutex_consistent(&uz_agent.arena->lock);
}

void store_unlock(void)
{
	pthread_mutex_unlock(&uz_agent.arena->lock);
}

int store_map(int fd, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	madvise(p, len, MADV_DONTDUMP);
	/* a child that runs no fork hook (a raw clone, glibc's _Fork) must
	 * not inherit it: after a drop of privileges it could rewrite our
	 * records or hold the lock for ever.  fork()'s child maps the
	 * descriptor its parent sends (agent_restart_child). */
	if (madvise(p, len, MADV_DONTFORK)) {
		int err = -errno;

		munmap(p, len);
		return err;
	}
	uz_agent.arena = p;
	uz_agent.arena_map_len = len;
	return 0;
}

int store_create(uint32_t rec_count, uint64_t data_bytes)
{
	struct uz_arena_hdr h;
	pthread_mutexattr_t ma;
	void *p;
	int fd, err;

	err = arena_layout(&h, rec_count, data_bytes);
	if (err)
		return err;
	fd = fd_hide(memfd_create("uzswap-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, h.size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = -errno;
		goto close_fd;
	}
	/* only header, stats, records and bitmap are mapped: payload goes
	 * in and out with pwrite/pread.  The memfd is sized to RAM, and a
	 * mapping of all of it would be filled by the application's
	 * mlockall(MCL_CURRENT) and written out by a core dump. */
	err = store_map(fd, h.data_off);
	if (err)
		goto close_fd;
	p = uz_agent.arena;
	h.owner_pid = getpid();
	h.holder_pid[0] = getpid();
	memcpy(p, &h, sizeof(h));
	uz_agent.arena_fd = fd;
	uz_agent.arena_size = h.size;
	store_use_slot(0);

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&uz_agent.arena->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	return 0;

close_fd:
	fd_close(fd);
	return err;
}

static void holding_account(unsigned slot, const struct uz_block_rec *r,
			    int sign);

static uint64_t *bitmap(void)
{
	return (uint64_t *)((uint8_t *)uz_agent.arena + uz_agent.arena->bitmap_off);
}

/* First run of @n clear bits at or after the hint, wrapping once. */
static int64_t bitmap_find(uint64_t n)
{
	uint64_t *bm = bitmap();
	uint64_t total = uz_agent.arena->data_pages;
	uint64_t start = uz_agent.arena->alloc_hint, i, run = 0;
	int pass;

	if (start >= total)
		start = 0;
	for (pass = 0; pass < 2; pass++) {
		uint64_t end = pass ? start : total;

		run = 0;
		for (i = pass ? 0 : start; i < end; i++) {
			uint64_t w = bm[i / 64];

			/* skip full words quickly */
			if (w == ~0ull && !(i % 64)) {
				run = 0;
				i += 63;
				continue;
			}
			if (w & (1ull << (i % 64))) {
				run = 0;
				continue;
			}
			if (++run == n)
				return (int64_t)(i + 1 - n);
		}
	}
	return -ENOSPC;
}

static void bitmap_set(uint64_t first, uint64_t n, int on)
{
	uint64_t *bm = bitmap(), i;

	for (i = first; i < first + n; i++) {
		if (on)
			bm[i / 64] |= 1ull << (i % 64);
		else
			bm[i / 64] &= ~(1ull << (i % 64));
	}
}

int store_reserve(uint32_t bytes, uint32_t *idx)
{
	struct uz_arena_hdr *h = uz_agent.arena;
	uint64_t pages = (bytes + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE;
	struct uz_block_rec *r = NULL;
	int64_t first = 0;
	static uint32_t rec_hint; /* next-fit: touch the table a page at a time */
	uint32_t i, n;

	store_lock();
	for (n = 0, i = rec_hint; n < h->rec_count; n++, i++) {
		if (i >= h->rec_count)
			i = 0;
		r = store_rec(i);
		if (r->state == UZ_REC_FREE)
			break;
	}
	if (n == h->rec_count || (pages && (first = bitmap_find(pages)) < 0)) {
		store_unlock();
		return -ENOSPC;
	}
	if (pages)
		bitmap_set(first, pages, 1);
	h->alloc_hint = first + pages;
	r->extent_off = h->data_off + (uint64_t)first * UZ_PAGE_SIZE;
	r->extent_pages = pages;
	r->holders = 1ull << uz_agent.holder;
	r->released_bytes = r->released_pages = 0;
	r->payload_bytes = bytes; /* written by store_write */
	r->state = UZ_REC_STORED;
	rec_hint = i + 1;
	if (h->rec_high < i + 1)
		__atomic_store_n(&h->rec_high, i + 1, __ATOMIC_RELEASE);
	store_unlock();
	holding_account(uz_agent.holder, r, 1);
	*idx = i;
	return 0;
}

/*
 * pwrite refuses to write past RLIMIT_FSIZE (EFBIG), which a program may
 * have lowered (a sandbox, `ulimit -f`), and the pool is a file sized to
 * RAM: then nothing was ever evicted.  A fault in a mapping of a memfd
 * checks only the file's size, so such a write goes through a window on
 * the extent, mapped over a piece of the agent's range for the copy.
 */
static int write_through_window(const uint8_t *p, uint32_t bytes, uint64_t at)
{
	uint64_t start = at & ~(uint64_t)(UZ_PAGE_SIZE - 1);
	size_t len = (at + bytes - start + UZ_PAGE_SIZE - 1) & ~(size_t)(UZ_PAGE_SIZE - 1);
	void *w = reserve_map(len, UZ_PAGE_SIZE);

	if (!w)
		return -EFBIG; /* no range of our own: not evicted, as before */
	if (mmap(w, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 uz_agent.arena_fd, (off_t)start) == MAP_FAILED) {
		int err = -errno;

		reserve_unmap(w, len);
		return err;
	}
	memcpy((uint8_t *)w + (at - start), p, bytes);
	reserve_unmap(w, len);
	return 0;
}

int store_write(uint32_t idx, const void *payload, uint32_t bytes)
{
	const struct uz_block_rec *r = store_rec(idx);
	const uint8_t *p = payload;
	uint64_t at = r->extent_off;
	ssize_t n;

	/* pwrite, not a copy through a mapping: the page cache takes the
	 * pages in one call instead of one fault per 4 KB page (and only
	 * the arena's head is mapped) */
	while (bytes) {
		n = pwrite(uz_agent.arena_fd, p, bytes, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EFBIG)
			return write_through_window(p, bytes, at);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		at += (uint64_t)n;
		bytes -= (uint32_t)n;
	}
	return 0;
}

int store_put(const void *payload, uint32_t bytes, uint32_t *idx)
{
	int err = store_reserve(bytes, idx);

	if (!err && (err = store_write(*idx, payload, bytes)))
		store_unref(*idx);
	return err;
}

/* All @len bytes at @at of @fd, or -EBADMSG: a memfd we sized cannot
 * come up short, so such a frame is treated as bad, not guessed at. */
static int pread_full(int fd, void *buf, uint32_t len, uint64_t at)
{
	ssize_t n;

	while (len) {
		n = pread(fd, buf, len, (off_t)at);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -EBADMSG;
		}
		buf = (uint8_t *)buf + n;
		at += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

int store_read(const struct uz_block_rec *r, uint64_t off, uint32_t len,
	       void *buf)
{
	uint64_t extent = (uint64_t)r->extent_pages * UZ_PAGE_SIZE;

	if (off > extent || len > extent - off)
		return -EBADMSG;
	return pread_full(uz_agent.arena_fd, buf, len, r->extent_off + off);
}

int store_copy_in(const struct uz_block_rec *from, int from_fd, void *buf,
		  uint32_t cap, uint32_t *idx)
{
	/* one look: the other processes that share it could write it */
	struct uz_block_rec r = *from;
	struct uz_block_rec *to;
	int err;

	if (r.state != UZ_REC_STORED || r.payload_bytes > cap ||
	    r.payload_bytes > (uint64_t)r.extent_pages * UZ_PAGE_SIZE)
		return -EBADMSG;
	err = pread_full(from_fd, buf, r.payload_bytes, r.extent_off);
	if (!err)
		err = store_put(buf, r.payload_bytes, idx);
	if (err)
		return err;
	/* the frames are checked against their checksums as they come back */
	to = store_rec(*idx);
	memcpy(to->frames, r.frames, sizeof(to->frames));
	to->addr = r.addr;
	to->flags = r.flags;
	to->orig_bytes = r.orig_bytes;
	return 0;
}

void store_use_slot(unsigned slot)
{
	uz_agent.holder = slot;
	uz_agent.stats = (struct uz_client_stats *)((uint8_t *)uz_agent.arena +
						    arena_stats_off(uz_agent.arena, slot));
}

int store_slot_alloc(pid_t pid)
{
	unsigned i;

	store_lock();
	for (i = 0; i < UZ_MAX_HOLDERS; i++)
		if (!uz_agent.arena->holder_pid[i]) {
			uz_agent.arena->holder_pid[i] = pid;
			break;
		}
	store_unlock();
	if (i < UZ_MAX_HOLDERS)
		/* a slot's counters start from zero for each holder */
		memset((uint8_t *)uz_agent.arena + arena_stats_off(uz_agent.arena, i),
		       0, sizeof(struct uz_client_stats));
	return i < UZ_MAX_HOLDERS ? (int)i : -ENOSPC;
}

/* The counters of holder @slot for what it holds of @r. */
static void holding_account(unsigned slot, const struct uz_block_rec *r, int sign)
{
	struct uz_client_stats *st = (struct uz_client_stats *)
		((uint8_t *)uz_agent.arena + arena_stats_off(uz_agent.arena, slot));

	/* what is left of it: only frames its sole holder has back are
	 * released, and another holder then joins it no more (fork takes
	 * the frames still stored), so joining and letting go count alike */
	stat_add(&st->stored_bytes, sign * (int64_t)(r->payload_bytes -
						    r->released_bytes));
	stat_add(&st->pool_bytes, sign * (int64_t)(r->extent_pages -
						  r->released_pages) *
					   UZ_PAGE_SIZE);
	stat_add(&st->blocks_stored, sign);
}

void store_hold(uint32_t idx, unsigned slot)
{
	struct uz_block_rec *r = store_rec(idx);

	store_lock();
	r->holders |= 1ull << slot;
	store_unlock();
	holding_account(slot, r, 1);
}

/* Does a frame of @r in @stored (its len > 0) lie on extent page @pg? */
static int page_still_needed(const struct uz_block_rec *r, uint32_t stored,
			     uint64_t pg)
{
	unsigned g;

	for (g = 0; g < UZ_FRAMES_PER_BLOCK; g++) {
		const struct uz_frame_desc *e = &r->frames[g];

		if ((stored & (1u << g)) && e->len &&
		    e->off / UZ_PAGE_SIZE <= pg &&
		    pg <= ((uint64_t)e->off + e->len - 1) / UZ_PAGE_SIZE)
			return 1;
	}
	return 0;
}

void store_release_frame(uint32_t idx, unsigned f, uint32_t stored)
{
	const struct uz_arena_hdr *h = uz_agent.arena;
	struct uz_block_rec *r = store_rec(idx);
	uint64_t pg, end, run = 0, punched = 0, ext_off, ext_len;
	struct uz_frame_desc d;

	store_lock();
	/* one look at what a process sharing the arena could rewrite */
	d = r->frames[f];
	ext_off = r->extent_off;
	ext_len = (uint64_t)r->extent_pages * UZ_PAGE_SIZE;
	/* another holder may still read every frame (its table is the one
	 * the fork copied); our records only, and sane ones: a punch
	 * outside the extent, or the extent outside the data, would take
	 * other bytes */
	if (r->state != UZ_REC_STORED || r->holders != 1ull << uz_agent.holder ||
	    !d.len || ext_off < h->data_off || ext_off > uz_agent.arena_size ||
	    ext_len > uz_agent.arena_size - ext_off ||
	    r->payload_bytes > ext_len || d.off > r->payload_bytes ||
	    d.len > r->payload_bytes - d.off ||
	    d.len > r->payload_bytes - r->released_bytes)
		goto out;
	r->released_bytes += d.len;
	stat_add(&uz_agent.stats->stored_bytes, -(int64_t)d.len);
	/* the pages this frame lies on that no stored frame shares: frames
	 * lie one after another, so each page goes with its last frame */
	end = ((uint64_t)d.off + d.len + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE;
	for (pg = d.off / UZ_PAGE_SIZE; pg <= end; pg++) {
		if (pg < end && !page_still_needed(r, stored, pg)) {
			run++;
			continue;
		}
		if (run && punched + run <= r->extent_pages - r->released_pages &&
		    !fallocate(uz_agent.arena_fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(ext_off + (pg - run) * UZ_PAGE_SIZE),
			       (off_t)(run * UZ_PAGE_SIZE)))
			punched += run;
		run = 0;
	}
	r->released_pages += (uint32_t)punched;
	stat_add(&uz_agent.stats->pool_bytes, -(int64_t)(punched * UZ_PAGE_SIZE));
out:
	store_unlock();
}

/* Take @r's extent out of use, under the lock; returns its place. */
static void rec_free_locked(struct uz_block_rec *r, uint64_t *off,
			    uint64_t *pages)
{
	*off = r->extent_off;
	*pages = r->extent_pages;
	r->state = UZ_REC_FREE;
}

/* Give the pages back to the system, then to the allocator: punched
 * before they can be handed out again. */
static void extent_release(uint64_t off, uint64_t pages)
{
	if (pages)
		fallocate(uz_agent.arena_fd,
			  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
			  pages * UZ_PAGE_SIZE);
	store_lock();
	bitmap_set((off - uz_agent.arena->data_off) / UZ_PAGE_SIZE, pages, 0);
	store_unlock();
}

/* Take @slot's bit off @r; the last holder to let go frees it. */
static void rec_let_go(struct uz_block_rec *r, unsigned slot)
{
	uint64_t off, pages;

	store_lock();
	r->holders &= ~(1ull << slot);
	if (r->state != UZ_REC_STORED || r->holders) {
		store_unlock();
		return;
	}
	rec_free_locked(r, &off, &pages);
	store_unlock();
	extent_release(off, pages);
}

void store_slot_release(unsigned slot)
{
	struct uz_arena_hdr *h = uz_agent.arena;
	uint32_t i, high = __atomic_load_n(&h->rec_high, __ATOMIC_ACQUIRE);

	/* only records ever used: reading the rest of the table would
	 * allocate its pages */
	for (i = 0; i < high && i < h->rec_count; i++) {
		struct uz_block_rec *r = store_rec(i);

		/* unlocked peek: records this holder never had stay untouched */
		if (__atomic_load_n(&r->holders, __ATOMIC_RELAXED) & (1ull << slot))
			rec_let_go(r, slot);
	}
	store_lock();
	h->holder_pid[slot] = 0;
	store_unlock();
}

void store_unref(uint32_t idx)
{
	struct uz_block_rec *r = store_rec(idx);

	holding_account(uz_agent.holder, r, -1);
	rec_let_go(r, uz_agent.holder);
}
