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

#define ADAPT_WINDOW 1024 /* page refills the ratio looks back over */
#define ADAPT_PROBE 16	   /* one page refill in this many while held */

/* One 4 KB page for the first touch of a frame inside it: an isolated
 * touch (a random reader's) uses one page of the 16, and at a cgroup's
 * limit the other 15 would push out pages in use.  A touch of a frame's
 * first page (a reader starting there, as random64_full does) gets the
 * frame, and so does a second touch of a frame (anything of it already
 * back or dropped): page by page a reader going backwards or in 8 KB
 * steps would fault, and decode, 16 or 8 times per frame.  A RANDOM
 * range gets the page at a frame's start too, a SEQUENTIAL one never. */
static int want_page(const struct refill_history *h, const struct refill_fault *f)
{
	unsigned page = (unsigned)((f->addr - f->block) % UZ_FRAME_SIZE /
				   UZ_PAGE_SIZE);

	if (f->shape == UZSWAP_HINT_SEQUENTIAL || h->frame_gone)
		return 0;
	return page || f->shape == UZSWAP_HINT_RANDOM;
}

/* A fault that a page refill left to come: in a frame with a page back
 * alone (struct refill_adapt).  No more misses than page refills: a
 * frame with dropped pages in such a block counts too, and a count far
 * above the refills would keep them off for ever. */
static void note_miss(const struct refill_history *h, struct refill_adapt *a)
{
	if (a && h->pages_back && h->frame_gone && a->misses < a->pages)
		a->misses++;
}

/* Do page refills pay in this process?  While they do not, one in
 * ADAPT_PROBE is made anyway, to see whether that changed. */
static int pages_pay(struct refill_adapt *a)
{
	if (!a)
		return 1;
	if (a->pages >= ADAPT_WINDOW) {
		a->pages /= 2;
		a->misses /= 2;
	}
	if ((uint64_t)a->misses * 4 <= a->pages)
		return 1;
	return ++a->held % ADAPT_PROBE == 0;
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
	note_miss(h, f->adapt);
	if (want_page(h, f) && pages_pay(f->adapt)) {
		/* the frame walk below counts frames, not pages in them */
		if (f->adapt)
			f->adapt->pages++;
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
