/* SPDX-License-Identifier: MIT */
/* How much one fault brings back (refill.h). */
#include "refill.h"
#include "frame.h"
#include "uzswap.h"

#define ALL_FRAMES ((uint32_t)((1ull << UZ_FRAMES_PER_BLOCK) - 1))

/* Does @f look like a sequential reader's: on the block's first page,
 * where a sequential reader goes next, or in a SEQUENTIAL range? */
static int looks_sequential(const struct refill_fault *f)
{
	return f->shape == UZSWAP_HINT_SEQUENTIAL || f->block == f->seq_next ||
	       f->addr - f->block < UZ_PAGE_SIZE;
}

/* 2 MB when the block is whole in the pool and was a huge page, and the
 * access looks sequential; or the range was hinted SEQUENTIAL; or the
 * block was a huge page taken only as the automatic loop's sample,
 * whose first touch says it is in use (64 KB frames would leave it in
 * small pages for good, and a random reader pays that in TLB misses).
 * An isolated touch elsewhere, a RANDOM range, or a block already
 * partly back gets less. */
static int want_whole(const struct refill_history *h, const struct refill_fault *f)
{
	if (h->stored != ALL_FRAMES || h->pages_back ||
	    f->shape == UZSWAP_HINT_RANDOM)
		return 0;
	if (f->shape == UZSWAP_HINT_SEQUENTIAL)
		return 1;
	return h->was_thp && (h->sampled || looks_sequential(f));
}

/* One 4 KB page for a touch inside a frame that nothing before it in
 * the frame leads up to: an isolated touch (a random reader's; a sort
 * comparing lines) uses one page of the 16, and at a cgroup's limit
 * the other 15 would push out pages in use.  A touch of a frame's
 * first page (a reader starting there, as random64_full does), or of
 * the page after one already back (a reader walking on), gets the
 * frame: page by page it would fault 16 times and decode 16 times.  A
 * RANDOM range gets the page also at a frame's start, a SEQUENTIAL one
 * never. */
static int want_page(const struct refill_history *h, const struct refill_fault *f)
{
	unsigned page = (unsigned)((f->addr - f->block) % UZ_FRAME_SIZE /
				   UZ_PAGE_SIZE);

	if (f->shape == UZSWAP_HINT_SEQUENTIAL)
		return 0;
	if (!page)
		return f->shape == UZSWAP_HINT_RANDOM;
	return !(h->frame_gone & (1u << (page - 1)));
}

struct refill_plan refill_decide(struct refill_history *h,
				 const struct refill_fault *f)
{
	struct refill_plan p = { 0, 0, 0, 0 };
	unsigned frame = (unsigned)((f->addr - f->block) / UZ_FRAME_SIZE);

	if (want_whole(h, f)) {
		p.whole = 1;
		/* a sample touched at random says nothing of the next */
		p.readahead = looks_sequential(f) ? f->params.readahead : 0;
		return p;
	}
	if (want_page(h, f)) {
		/* the frame walk below counts frames, not pages in them */
		p.page = 1;
		return p;
	}
	/* refills that walk through a block, frame after frame, will want
	 * the rest too; sparse or random touches get only what they ask */
	if (h->seq_refills && frame == h->last_frame + 1u)
		h->seq_refills++;
	else
		h->seq_refills = 1;
	h->last_frame = (uint8_t)frame;
	p.finish = h->seq_refills >= f->params.finish_after;
	return p;
}

int refill_may_read_ahead(const struct refill_history *h, int shape)
{
	return h->stored == ALL_FRAMES && !h->pages_back && h->was_thp &&
	       shape != UZSWAP_HINT_RANDOM;
}
