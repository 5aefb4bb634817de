/* SPDX-License-Identifier: MIT */
/* Non-cooperative userfaultfd events: remove, unmap, remap. */
#include <errno.h>
#include <string.h>

#include "blocks.h"
#include "events.h"
#include "log.h"
#include "restore.h"
#include "uffd.h"

static uint8_t frame_tmp[UZ_FRAME_SIZE] __attribute__((aligned(4096)));

/*
 * Pages [s, e) were dropped (MADV_DONTNEED/FREE/REMOVE) or unmapped:
 * what was stored for them must never come back.  Whole frames are
 * forgotten; pages of a partly covered frame read back as zero.
 */
static void drop_range(uint64_t s, uint64_t e)
{
	uint64_t blk;

	for (blk = block_of(s); blk < e; blk += UZ_BLOCK_SIZE) {
		struct block *b = blocks_find(blk);
		uint64_t from = s > blk ? s : blk;
		uint64_t to = e < blk + UZ_BLOCK_SIZE ? e : blk + UZ_BLOCK_SIZE;
		unsigned p, f;

		if (!b)
			continue;
		for (p = (from - blk) / UZ_PAGE_SIZE;
		     p < (to - blk + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE; p++)
			b->zeroed[p / 64] |= 1ull << (p % 64);
		for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
			uint64_t fs = blk + (uint64_t)f * UZ_FRAME_SIZE;

			if (fs >= from && fs + UZ_FRAME_SIZE <= to &&
			    (b->stored & (1u << f))) {
				stat_add(&uz_agent.stats->dropped_bytes, UZ_FRAME_SIZE);
				if (restore_frame_done(b, f))
					break; /* b is gone */
			}
		}
	}
}

/* Put the stored pages of [s, e) of block @b at their new home, @delta
 * away, page by page: the remap does not keep 2 MB alignment. */
static void copy_moved_pages(struct block *b, uint64_t s, uint64_t e,
			     int64_t delta)
{
	unsigned f;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		uint64_t fs = b->addr + (uint64_t)f * UZ_FRAME_SIZE;
		uint64_t from = s > fs ? s : fs;
		uint64_t to = e < fs + UZ_FRAME_SIZE ? e : fs + UZ_FRAME_SIZE;
		int bad;

		if (from >= to || !(b->stored & (1u << f)))
			continue;
		bad = restore_decode(b, f, frame_tmp);
		uffd_fill_range(uz_agent.uffd, bad ? uffd_op_poison : uffd_op_copy,
				from + delta, frame_tmp + (from - fs), to - from);
	}
}

/* mremap moved [from, from+len) to @to: the stored copy follows. */
static void remap(uint64_t from, uint64_t to, uint64_t len)
{
	int64_t delta = (int64_t)(to - from);
	uint64_t end = from + len, blk;

	if (from == to)
		return;
	for (blk = block_of(from); blk < end; blk += UZ_BLOCK_SIZE) {
		struct block *b = blocks_find(blk);
		struct block *there;

		if (!b)
			continue;
		if (blk >= from && blk + UZ_BLOCK_SIZE <= end &&
		    !(delta % (int64_t)UZ_BLOCK_SIZE)) {
			/* whole block, still aligned: just re-key it */
			there = blocks_find(blk + delta);
			if (there)
				blocks_remove(there);
			blocks_rekey(blocks_find(blk), blk + delta);
			continue;
		}
		copy_moved_pages(b, from > blk ? from : blk,
				 end < blk + UZ_BLOCK_SIZE ? end : blk + UZ_BLOCK_SIZE,
				 delta);
		drop_range(from > blk ? from : blk,
			   end < blk + UZ_BLOCK_SIZE ? end : blk + UZ_BLOCK_SIZE);
	}
}

void events_handle(const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		drop_range(m->arg.remove.start, m->arg.remove.end);
		break;
	case UFFD_EVENT_REMAP:
		remap(m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		break;
	default:
		log_warn("unexpected userfaultfd event %u", m->event);
		break;
	}
}
