/* SPDX-License-Identifier: MIT */
/* Taking a block that is partly back again, without decoding what is
 * still stored (retake.h). */
#include <errno.h>
#include <string.h>

#include "blocks.h"
#include "events.h"
#include "evict.h"
#include "frame.h"
#include "restore.h"
#include "retake.h"
#include "robust.h"
#include "stage.h"
#include "store.h"
#include "util.h"

#define ALL_FRAMES ((uint32_t)((1ull << UZ_FRAMES_PER_BLOCK) - 1))

/* Frame @f still stored whole, with nothing of it in memory (@before:
 * the application's pages before the move): its payload is copied as
 * it is, checksum and all. */
static int frame_untouched(const struct block *b, unsigned f,
			   const struct page_presence *before)
{
	return (b->stored & (1u << f)) && !block_frame_gone(b, f) &&
	       !frame_has_pages(before, f);
}

/* The bytes of frame @f as the application has them now, into @dst:
 * what is still stored of it (pages dropped since read as zero), then
 * each page moved out to staging (@staged) over it.  0 or -EBADMSG. */
static int frame_as_now(const struct block *b, unsigned f,
			const struct page_presence *staged, uint8_t *dst)
{
	const uint8_t *src = uz_agent.evict_stage + (uint64_t)f * UZ_FRAME_SIZE;
	unsigned p;

	if (b->stored & (1u << f)) {
		if (restore_decode(b, f, dst))
			return -EBADMSG;
	} else {
		memset(dst, 0, UZ_FRAME_SIZE); /* back, then dropped: zero */
	}
	for (p = 0; p < UZ_PAGES_PER_FRAME; p++)
		if (page_present(staged, f * UZ_PAGES_PER_FRAME + p))
			memcpy(dst + (uint64_t)p * UZ_PAGE_SIZE,
			       src + (uint64_t)p * UZ_PAGE_SIZE, UZ_PAGE_SIZE);
	return 0;
}

/* The block's new payload into out_buf, its descriptors into @frames:
 * untouched frames copied from the old record, the others encoded from
 * frame_as_now.  The payload's length, *@copied of it copied; or
 * -errno (EBADMSG: a stored frame fails its checksum). */
static int64_t compose(const struct block *b, const struct page_presence *before,
		       const struct page_presence *staged,
		       struct uz_frame_desc *frames, uint64_t *copied)
{
	const struct uz_block_rec *old = store_rec(b->rec);
	uint64_t off = 0;
	unsigned f;
	int len;

	*copied = 0;
	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		struct uz_frame_desc *d = &frames[f];

		if (frame_untouched(b, f, before)) {
			*d = old->frames[f];
			d->off = off;
			if (d->len > uz_agent.out_cap - off ||
			    store_read(old, old->frames[f].off, d->len,
				       uz_agent.out_buf + off))
				return -EBADMSG;
			off += d->len;
			*copied += d->len;
			continue;
		}
		if (frame_as_now(b, f, staged, uz_agent.frame_buf))
			return -EBADMSG;
		memset(d, 0, sizeof(*d));
		len = frame_encode(uz_agent.codec, uz_agent.frame_buf,
				   uz_agent.out_buf + off, uz_agent.out_cap - off, d);
		if (len < 0)
			return len;
		d->off = off;
		off += len;
		evict_count_frame(d->kind);
	}
	return off;
}

/* @b now holds record @idx, every frame stored, nothing back */
static void block_restored_to(struct block *b, uint32_t idx)
{
	unsigned back = UZ_FRAMES_PER_BLOCK - __builtin_popcount(b->stored);

	stat_add(&uz_agent.stats->evicted_bytes, (int64_t)back * UZ_FRAME_SIZE);
	store_unref(b->rec);
	restore_forget_idle(b->addr);
	b->rec = idx;
	b->stored = ALL_FRAMES;
	memset(b->zeroed, 0, sizeof(b->zeroed));
	b->flags = 0; /* small pages now; touched since taken: no more */
	b->last_frame = 0;
	b->seq_refills = 0;
	b->evicted_ms = now_ms();
}

/* After a put-back of what moved out of the block at @addr: the block
 * stayed in the table meanwhile, and a drop of the program's read while
 * putting back can release it (its last stored frames dropped); its
 * range is unregistered here then, once the pages are back (review
 * probe p1_putback_drop: unregistered during the put-back, 384 pages
 * read zero). */
static void unregister_if_let_go(uint64_t addr)
{
	if (!blocks_find(addr))
		events_unregister_block(addr);
}

int evict_retake(struct block *b, uint64_t *bytes, uint64_t *stored)
{
	struct uz_frame_desc frames[UZ_FRAMES_PER_BLOCK];
	struct page_presence before, staged;
	uint64_t addr = b->addr, copied;
	struct uz_block_rec *rec;
	unsigned busy;
	int64_t len;
	uint32_t idx;
	int err;

	*bytes = *stored = 0;
	err = pagemap_block(addr, &before);
	if (err || before.count < RETAKE_MIN_PAGES)
		return err; /* what is back by our count is not all there */
	if (robust_in_block(addr) > 0) {
		/* the kernel must be able to read it at thread exit */
		stat_add(&uz_agent.stats->evict_busy, 1);
		return 0;
	}
	err = evict_stage_ready(0);
	if (err)
		return err;
	/* still registered (it is in the table): a touch of what moves
	 * out faults to us, and waits for the record made here */
	err = evict_move_out(addr, 0, &busy);
	uz_agent.evict_stage_dirty = 1;
	if (!err)
		err = pagemap_block((uint64_t)uz_agent.evict_stage, &staged);
	if (err)
		goto put_back;
	if (!staged.count)
		return 0; /* every page stayed (busy) */
	if (busy)
		stat_add(&uz_agent.stats->evict_busy, 1);
	len = compose(b, &before, &staged, frames, &copied);
	err = len < 0 ? (int)len : store_reserve((uint32_t)len, &idx);
	if (err) {
		if (err == -EBADMSG)
			/* left as it is: a touch of that frame poisons it */
			err = 0;
		goto put_back;
	}
	rec = store_rec(idx);
	memcpy(rec->frames, frames, sizeof(frames));
	rec->addr = addr;
	rec->flags = 0;
	rec->orig_bytes = (uint64_t)staged.count * UZ_PAGE_SIZE;
	err = evict_write_staged(addr, idx, len);
	if (err) {
		store_unref(idx);
		/* the old record still holds the rest */
		evict_put_back_encoded(addr, &staged, frames, len);
		unregister_if_let_go(addr);
		return err;
	}
	stage_want();
	block_restored_to(b, idx);
	stat_add(&uz_agent.stats->evicted_blocks_total, 1);
	stat_add(&uz_agent.stats->evicted_bytes_total,
		 (uint64_t)staged.count * UZ_PAGE_SIZE);
	*bytes = (uint64_t)staged.count * UZ_PAGE_SIZE;
	*stored = (uint64_t)len - copied;
	return 1;
put_back:
	/* what moved goes back; the block is as it was */
	evict_put_back(addr, uz_agent.evict_stage);
	unregister_if_let_go(addr);
	return err;
}
