/* SPDX-License-Identifier: MIT */
/* The per-fault decision (src/agent/refill.c): a block's history and a
 * fault in, 4 KB, 64 KB or 2 MB, finishing and read-ahead out. */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "refill.h"
#include "t.h"
#include "uzswap.h"

#define ALL ((uint32_t)((1ull << UZ_FRAMES_PER_BLOCK) - 1))
#define BLK 0x40000000ull /* a block's address */
#define MB2 ((uint64_t)UZ_BLOCK_SIZE)

static struct refill_history thp(void)
{
	struct refill_history h = { ALL, 1, 0, 0, 0, 0, 0 };

	return h;
}

static const struct refill_params defaults = { UZ_REFILL_READAHEAD_DEFAULT,
					       UZ_REFILL_FINISH_DEFAULT };

static struct refill_plan at_with(struct refill_history *h, uint64_t off,
				  int shape, uint64_t seq_next,
				  struct refill_params params)
{
	struct refill_fault f = { BLK, BLK + off, shape, seq_next, params, NULL };

	return refill_decide(h, &f);
}

static struct refill_plan at(struct refill_history *h, uint64_t off, int shape,
			     uint64_t seq_next)
{
	return at_with(h, off, shape, seq_next, defaults);
}

/* A reader reaching a huge page's first page, or the block after the
 * last whole one, gets the block and read-ahead. */
static void sequential_gets_blocks(void)
{
	struct refill_history h = thp();
	struct refill_plan p = at(&h, 0, UZSWAP_HINT_NORMAL, 0);

	t_assert(p.whole && p.readahead == UZ_REFILL_READAHEAD_DEFAULT && !p.finish,
		 "first page of a huge page: whole %d, readahead %u", p.whole,
		 p.readahead);
	h = thp();
	p = at(&h, 5 * UZ_FRAME_SIZE + 4096, UZSWAP_HINT_NORMAL, BLK);
	t_assert(p.whole, "the sequential reader's next block: not whole");
	h = thp();
	p = at(&h, UZ_PAGE_SIZE - 1, UZSWAP_HINT_NORMAL, 0);
	t_assert(p.whole, "the first page's last byte: not whole");
}

/* An isolated touch, a block not a huge page, one partly back, or a
 * RANDOM range gets less than the block. */
static void sparse_gets_frames(void)
{
	struct refill_history h = thp();
	struct refill_plan p;

	p = at(&h, UZ_PAGE_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.whole && !p.readahead, "second page of a huge page: whole");
	p = at(&h, 0, UZSWAP_HINT_NORMAL, BLK + MB2);
	t_assert(p.whole, "control: the first page of a whole block");
	h = thp();
	h.pages_back = 1;
	p = at(&h, 0, UZSWAP_HINT_NORMAL, BLK);
	t_assert(!p.whole && !p.page, "a page back alone: whole %d page %d",
		 p.whole, p.page);
	h = thp();
	h.was_thp = 0;
	p = at(&h, 0, UZSWAP_HINT_NORMAL, BLK);
	t_assert(!p.whole, "not a huge page: whole");
	h = thp();
	h.stored = ALL & ~1u;
	p = at(&h, UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, BLK);
	t_assert(!p.whole, "a frame already back: whole");
	h = thp();
	p = at(&h, 0, UZSWAP_HINT_RANDOM, BLK);
	t_assert(!p.whole, "RANDOM range: whole");
}

/* SEQUENTIAL takes the block anywhere, huge page or not; not once part
 * of it is back. */
static void sequential_hint(void)
{
	struct refill_history h = thp();
	struct refill_plan p;

	h.was_thp = 0;
	p = at(&h, 17 * UZ_FRAME_SIZE, UZSWAP_HINT_SEQUENTIAL, 0);
	t_assert(p.whole, "SEQUENTIAL, middle of a small-page block: not whole");
	h.stored = ALL >> 1;
	p = at(&h, 0, UZSWAP_HINT_SEQUENTIAL, 0);
	t_assert(!p.whole, "SEQUENTIAL, block partly back: whole");
}

/* Frame after frame: finish the block; a jump starts the count again. */
static void walking_frames_finish(void)
{
	struct refill_history h = thp();
	struct refill_plan p;

	h.was_thp = 0;
	p = at(&h, 3 * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.finish && h.seq_refills == 1 && h.last_frame == 3,
		 "first refill: finish %d, count %u, last %u", p.finish,
		 h.seq_refills, h.last_frame);
	p = at(&h, 4 * UZ_FRAME_SIZE + 100, UZSWAP_HINT_NORMAL, 0);
	t_assert(p.finish && h.seq_refills == UZ_REFILL_FINISH_DEFAULT,
		 "the next frame: finish %d, count %u", p.finish, h.seq_refills);
	p = at(&h, 9 * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.finish && h.seq_refills == 1, "a jump: finish %d, count %u",
		 p.finish, h.seq_refills);
	p = at(&h, 8 * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.finish && h.seq_refills == 1, "backwards: finish %d", p.finish);
}

/* A whole restore leaves the history alone. */
static void whole_keeps_history(void)
{
	struct refill_history h = thp(), before;

	h.last_frame = 7;
	h.seq_refills = 1;
	before = h;
	(void)at(&h, 0, UZSWAP_HINT_NORMAL, 0);
	t_assert(!memcmp(&h, &before, sizeof(h)), "history changed by a whole restore");
}

static void read_ahead(void)
{
	struct refill_history h = thp();

	t_assert(refill_may_read_ahead(&h, UZSWAP_HINT_NORMAL), "a stored huge page");
	t_assert(refill_may_read_ahead(&h, UZSWAP_HINT_SEQUENTIAL), "SEQUENTIAL");
	t_assert(!refill_may_read_ahead(&h, UZSWAP_HINT_RANDOM), "RANDOM");
	h.stored = 1;
	t_assert(!refill_may_read_ahead(&h, UZSWAP_HINT_NORMAL), "partly back");
	h = thp();
	h.was_thp = 0;
	t_assert(!refill_may_read_ahead(&h, UZSWAP_HINT_NORMAL), "small pages");
}

/* A huge page taken as the automatic loop's sample comes back whole
 * wherever it is touched (its touch says it is in use), without
 * read-ahead unless the touch looks sequential; not when RANDOM is
 * hinted, nor when it was in small pages. */
static void sampled_comes_back_whole(void)
{
	struct refill_history h = thp();
	struct refill_plan p;

	h.sampled = 1;
	p = at(&h, 37 * 4096 + 100, UZSWAP_HINT_NORMAL, 0);
	t_assert(p.whole && !p.readahead, "a sample touched mid-block: whole %d, "
		 "readahead %u", p.whole, p.readahead);
	p = at(&h, 0, UZSWAP_HINT_NORMAL, 0);
	t_assert(p.whole && p.readahead == UZ_REFILL_READAHEAD_DEFAULT,
		 "a sample touched on its first page: readahead %u", p.readahead);
	p = at(&h, 37 * 4096, UZSWAP_HINT_RANDOM, 0);
	t_assert(!p.whole, "a sample in a RANDOM range");
	h = thp();
	h.sampled = 1;
	h.was_thp = 0;
	p = at(&h, 37 * 4096, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.whole, "a sample in small pages");
	h = thp();
	p = at(&h, 37 * 4096, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.whole, "not a sample: less than the block");
}

/* The first touch of a frame inside it gets its 4 KB page; the frame's
 * first page, a second touch of a frame (anything of it gone) or a
 * SEQUENTIAL range gets the frame; a RANDOM range gets the page also at
 * a frame's start.  A page refill leaves the frame walk's count alone. */
static void isolated_gets_page(void)
{
	struct refill_history h = thp();
	struct refill_plan p;

	h.was_thp = 0;
	p = at(&h, 5 * UZ_FRAME_SIZE + 7 * UZ_PAGE_SIZE + 9, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.whole && p.page && !p.finish && !h.seq_refills,
		 "mid-frame: page %d, count %u", p.page, h.seq_refills);
	p = at(&h, 5 * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.page && h.seq_refills == 1, "a frame's first page: page");
	h.frame_gone = 1u << 6;
	p = at(&h, 5 * UZ_FRAME_SIZE + 7 * UZ_PAGE_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.page, "the page after one gone: page");
	p = at(&h, 5 * UZ_FRAME_SIZE + 2 * UZ_PAGE_SIZE, UZSWAP_HINT_NORMAL, 0);
	t_assert(!p.page, "below one gone (a reader going backwards): page");
	p = at(&h, 5 * UZ_FRAME_SIZE + 9 * UZ_PAGE_SIZE, UZSWAP_HINT_RANDOM, 0);
	t_assert(!p.page, "RANDOM, a frame's second touch: page");
	h.frame_gone = 0;
	p = at(&h, 5 * UZ_FRAME_SIZE, UZSWAP_HINT_RANDOM, 0);
	t_assert(p.page, "RANDOM, a frame's first page: frame");
	p = at(&h, 5 * UZ_FRAME_SIZE + 3 * UZ_PAGE_SIZE, UZSWAP_HINT_SEQUENTIAL, 0);
	t_assert(p.whole, "SEQUENTIAL, whole in the pool: not whole");
	h.stored = ALL & ~1u;
	p = at(&h, 5 * UZ_FRAME_SIZE + 3 * UZ_PAGE_SIZE, UZSWAP_HINT_SEQUENTIAL, 0);
	t_assert(!p.whole && !p.page, "SEQUENTIAL, partly back: page %d", p.page);
	h = thp();
	h.pages_back = 1;
	t_assert(!refill_may_read_ahead(&h, UZSWAP_HINT_NORMAL),
		 "read ahead into a block with a page back");
}

/* Page refills stop while more than a quarter of them are followed by a
 * fault in their frame, with one in 16 made anyway; they start again
 * once that share falls; the counts are halved past 1024. */
static void page_refills_adapt(void)
{
	struct refill_adapt a = { 0, 0, 0 };
	struct refill_history h = thp();
	struct refill_fault f = { BLK, BLK + 3 * UZ_PAGE_SIZE, UZSWAP_HINT_NORMAL,
				  0, defaults, &a };
	struct refill_plan p;
	unsigned i, pages;

	h.was_thp = 0;
	h.pages_back = 1;
	for (i = 0; i < 100; i++)
		t_assert(refill_decide(&h, &f).page, "isolated touch %u: frame", i);
	/* second touches of those frames: misses, and frames */
	h.frame_gone = 1u << 3;
	for (i = 0; i < 30; i++)
		t_assert(!refill_decide(&h, &f).page, "second touch: page");
	t_assert(a.pages == 100 && a.misses == 30, "pages %u misses %u", a.pages,
		 a.misses);
	/* 30 of 100 followed so: one in 16 from now on */
	h.frame_gone = 0;
	for (i = pages = 0; i < 160; i++)
		pages += refill_decide(&h, &f).page;
	t_assert(pages == 10, "%u page refills of 160 while they do not pay", pages);
	/* isolated touches only: paying again */
	for (i = 0; i < 400; i++)
		(void)refill_decide(&h, &f);
	p = refill_decide(&h, &f);
	t_assert(p.page && (uint64_t)a.misses * 4 <= a.pages,
		 "pages %u misses %u: not paying again", a.pages, a.misses);
	/* never more misses than page refills */
	h.frame_gone = 1u << 3;
	a.pages = 3;
	a.misses = 0;
	for (i = 0; i < 10; i++)
		(void)refill_decide(&h, &f);
	t_assert(a.misses == 3, "%u misses for 3 page refills", a.misses);
	h.frame_gone = 0;
	a.pages = 1024;
	a.misses = 100;
	(void)refill_decide(&h, &f);
	t_assert(a.pages == 513 && a.misses == 50, "halved: %u %u", a.pages,
		 a.misses);
}

/* The daemon's parameters are the ones used: no read-ahead at 0, a
 * longer one when asked, and a block finished after its first refill
 * at finish-after=1 or only after 5 in a row at 5. */
static void daemon_params(void)
{
	struct refill_params none = { 0, UZ_REFILL_FINISH_DEFAULT },
			     far = { 16, UZ_REFILL_FINISH_DEFAULT }, eager = { 4, 1 },
			     late = { 4, 5 };
	struct refill_history h = thp();
	struct refill_plan p;
	unsigned i;

	p = at_with(&h, 0, UZSWAP_HINT_NORMAL, 0, none);
	t_assert(p.whole && !p.readahead, "readahead=0: whole %d, readahead %u",
		 p.whole, p.readahead);
	p = at_with(&h, 0, UZSWAP_HINT_SEQUENTIAL, 0, far);
	t_assert(p.whole && p.readahead == 16, "readahead=16: %u", p.readahead);
	h.was_thp = 0;
	p = at_with(&h, 3 * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0, eager);
	t_assert(!p.whole && p.finish, "finish-after=1: the first refill does "
		 "not finish the block");
	h = thp();
	h.was_thp = 0;
	for (i = 0; i < 5; i++) {
		p = at_with(&h, i * UZ_FRAME_SIZE, UZSWAP_HINT_NORMAL, 0, late);
		t_assert(p.finish == (i == 4), "finish-after=5: refill %u finish %d",
			 i + 1, p.finish);
	}
}

int main(void)
{
	sequential_gets_blocks();
	sparse_gets_frames();
	sequential_hint();
	walking_frames_finish();
	whole_keeps_history();
	read_ahead();
	sampled_comes_back_whole();
	daemon_params();
	isolated_gets_page();
	page_refills_adapt();
	printf("refill: 10 groups of decisions as expected\n");
	return 0;
}
