/* SPDX-License-Identifier: MIT */
/* How much one fault brings back (refill.h). */
#include "refill.h"
#include "frame.h"
#include "uzswap.h"

#define ALL_FRAMES ((uint32_t)((1ull << UZ_FRAMES_PER_BLOCK) - 1))

/* 2 MB when the block is whole in the pool and was a huge page, and the
 * access looks sequential: the fault is on its first page, or where a
 * sequential reader goes next; or the range was hinted SEQUENTIAL.  An
 * isolated touch elsewhere, a RANDOM range, or a block already partly
 * back gets 64 KB. */
static int want_whole(const struct refill_history *h, const struct refill_fault *f)
{
	if (h->stored != ALL_FRAMES || f->shape == UZSWAP_HINT_RANDOM)
		return 0;
	if (f->shape == UZSWAP_HINT_SEQUENTIAL)
		return 1;
	if (!h->was_thp)
		return 0;
	return f->addr - f->block < UZ_PAGE_SIZE || f->block == f->seq_next;
}

struct refill_plan refill_decide(struct refill_history *h,
				 const struct refill_fault *f)
{
	struct refill_plan p = { 0, 0, 0 };
	unsigned frame = (unsigned)((f->addr - f->block) / UZ_FRAME_SIZE);

	if (want_whole(h, f)) {
		p.whole = 1;
		p.readahead = REFILL_READAHEAD;
		return p;
	}
	/* refills that walk through a block, frame after frame, will want
	 * the rest too; sparse or random touches get only what they ask */
	if (h->seq_refills && frame == h->last_frame + 1u)
		h->seq_refills++;
	else
		h->seq_refills = 1;
	h->last_frame = (uint8_t)frame;
	p.finish = h->seq_refills >= REFILL_FINISH_AFTER;
	return p;
}

int refill_may_read_ahead(const struct refill_history *h, int shape)
{
	return h->stored == ALL_FRAMES && h->was_thp && shape != UZSWAP_HINT_RANDOM;
}
