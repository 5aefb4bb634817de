/* SPDX-License-Identifier: MIT */
/* The agent's side of its arena: records, extents and their memory. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

int store_create(uint32_t rec_count, uint64_t data_bytes)
{
	struct uz_arena_hdr h;
	pthread_mutexattr_t ma;
	void *p;
	int fd, err;

	err = arena_layout(&h, rec_count, data_bytes);
	if (err)
		return err;
	fd = memfd_create("uzswap-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, h.size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = -errno;
		goto close_fd;
	}
	p = mmap(NULL, h.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto close_fd;
	}
	h.owner_pid = getpid();
	memcpy(p, &h, sizeof(h));
	uz_agent.arena = p;
	uz_agent.arena_fd = fd;
	uz_agent.arena_size = h.size;
	uz_agent.stats = &uz_agent.arena->stats;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&uz_agent.arena->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	return 0;

close_fd:
	close(fd);
	return err;
}

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

int store_put(const void *payload, uint32_t bytes, uint32_t *idx)
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
	r->refs = 1;
	r->state = UZ_REC_STORED;
	rec_hint = i + 1;
	store_unlock();

	memcpy((uint8_t *)h + r->extent_off, payload, bytes);
	stat_add(&uz_agent.stats->pool_bytes, pages * UZ_PAGE_SIZE);
	stat_add(&uz_agent.stats->blocks_stored, 1);
	*idx = i;
	return 0;
}

void store_ref(uint32_t idx)
{
	store_lock();
	store_rec(idx)->refs++;
	store_unlock();
}

void store_unref(uint32_t idx)
{
	struct uz_block_rec *r = store_rec(idx);
	uint64_t off, pages;

	store_lock();
	if (r->state != UZ_REC_STORED || --r->refs) {
		store_unlock();
		return;
	}
	off = r->extent_off;
	pages = r->extent_pages;
	stat_add(&uz_agent.stats->stored_bytes, -(int64_t)r->payload_bytes);
	r->state = UZ_REC_FREE;
	store_unlock();

	/* give the memory back before the pages can be handed out again */
	if (pages)
		fallocate(uz_agent.arena_fd,
			  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
			  pages * UZ_PAGE_SIZE);
	store_lock();
	bitmap_set((off - uz_agent.arena->data_off) / UZ_PAGE_SIZE, pages, 0);
	store_unlock();
	stat_add(&uz_agent.stats->pool_bytes, -(int64_t)(pages * UZ_PAGE_SIZE));
	stat_add(&uz_agent.stats->blocks_stored, -1);
}
