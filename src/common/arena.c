/* SPDX-License-Identifier: MIT */
/* Layout of a client's arena, and the check of one read back untrusted. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"

#define UZ_ARENA_PAGE 4096ull
/* Data starts on a 2 MB boundary so a huge-page memfd can map it with
 * PMDs; the gap before it is a hole in the file and costs nothing. */
#define UZ_ARENA_DATA_ALIGN (2ull << 20)

/* Round @v up to @a (a power of two); 0 when that overflows. */
static uint64_t round_up(uint64_t v, uint64_t a)
{
	return v > UINT64_MAX - (a - 1) ? 0 : (v + a - 1) & ~(a - 1);
}

/* Bytes of the bitmap for @pages data pages, in whole 64-bit words. */
static uint64_t bitmap_bytes(uint64_t pages)
{
	return (pages / 64 + !!(pages % 64)) * 8;
}

/*
 * Zeroes every field but the lock, which its owner initialises in
 * place (it may be live in a mapped header).  codec, level and
 * owner_pid are left 0 for the caller.
 */
int arena_layout(struct uz_arena_hdr *h, uint32_t rec_count,
		 uint64_t data_bytes)
{
	uint64_t pages, stats_off, rec_off, bitmap_off, data_off, size;

	if (!rec_count || !data_bytes)
		return -EINVAL;
	pages = data_bytes / UZ_ARENA_PAGE + !!(data_bytes % UZ_ARENA_PAGE);
	stats_off = round_up(sizeof(*h), UZ_ARENA_PAGE);
	rec_off = round_up(stats_off + UZ_MAX_HOLDERS *
					       sizeof(struct uz_client_stats),
			   UZ_ARENA_PAGE);
	bitmap_off = round_up(rec_off + (uint64_t)rec_count *
						sizeof(struct uz_block_rec),
			      UZ_ARENA_PAGE);
	/* pages < 2^52, so the bitmap and data sizes cannot overflow */
	data_off = round_up(bitmap_off + bitmap_bytes(pages),
			    UZ_ARENA_DATA_ALIGN);
	if (!data_off || pages > (UINT64_MAX - data_off) / UZ_ARENA_PAGE)
		return -EOVERFLOW;
	size = data_off + pages * UZ_ARENA_PAGE;

	memset(h, 0, offsetof(struct uz_arena_hdr, lock));
	memset(h->pad, 0, sizeof(*h) - offsetof(struct uz_arena_hdr, pad));
	h->magic = UZ_ARENA_MAGIC;
	h->version = UZ_ARENA_VERSION;
	h->page_size = UZ_ARENA_PAGE;
	h->size = size;
	h->stats_off = stats_off;
	h->rec_off = rec_off;
	h->rec_count = rec_count;
	h->rec_size = sizeof(struct uz_block_rec);
	h->bitmap_off = bitmap_off;
	h->data_off = data_off;
	h->data_pages = pages;
	return 0;
}

/* Is [off, off + len) inside [start, end)?  Written so that no sum can
 * wrap: every operand is at most end. */
static int region_ok(uint64_t off, uint64_t len, uint64_t start,
		     uint64_t end)
{
	return off % UZ_ARENA_PAGE == 0 && off >= start && off <= end &&
	       len <= end - off;
}

/*
 * The regions must come in order (header, stats, records, bitmap, data), each
 * page aligned, inside both the header's size and the real file.  The
 * lock, codec, level and hints are the agent's business and not looked
 * at: a hostile agent can only hurt its own arena.
 */
int arena_hdr_check(const struct uz_arena_hdr *h, uint64_t file_size)
{
	uint64_t end = h->size, recs, bm;
	uint64_t stats = UZ_MAX_HOLDERS * sizeof(struct uz_client_stats);

	if (h->magic != UZ_ARENA_MAGIC || h->version != UZ_ARENA_VERSION ||
	    h->page_size != UZ_ARENA_PAGE ||
	    h->rec_size != sizeof(struct uz_block_rec) || !h->rec_count ||
	    !h->data_pages || end > file_size)
		return -EINVAL;
	/* rec_count and rec_size are 32-bit: their product fits */
	recs = (uint64_t)h->rec_count * h->rec_size;
	if (!region_ok(h->stats_off, stats, sizeof(*h), end))
		return -EINVAL;
	if (!region_ok(h->rec_off, recs, h->stats_off + stats, end))
		return -EINVAL;
	if (h->data_pages > end / UZ_ARENA_PAGE)
		return -EINVAL;
	bm = bitmap_bytes(h->data_pages);
	if (!region_ok(h->bitmap_off, bm, h->rec_off + recs, end))
		return -EINVAL;
	if (!region_ok(h->data_off, h->data_pages * UZ_ARENA_PAGE,
		       h->bitmap_off + bm, end))
		return -EINVAL;
	return 0;
}
