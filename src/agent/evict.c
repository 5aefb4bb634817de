/* SPDX-License-Identifier: MIT */
/* Taking 2 MB blocks away from the application into the arena. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blocks.h"
#include "creds.h"
#include "codec.h"
#include "coredump.h"
#include "events.h"
#include "evict.h"
#include "inactive.h"
#include "limitguard.h"
#include "rawkid.h"
#include "recent.h"
#include "log.h"
#include "regions.h"
#include "restore.h"
#include "retake.h"
#include "robust.h"
#include "stage.h"
#include "worker.h"
#include "store.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "util.h"

int stage_block_remap(uint8_t *p)
{
	void *m = (void *)syscall(SYS_mmap, p, UZ_BLOCK_SIZE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return m == MAP_FAILED ? -errno : 0;
}

/* A staging block is registered (write-protect mode, so touching its
 * holes never faults to us) on a uffd of its own: UFFDIO_MOVE needs its
 * destination registered on the uffd doing the move, and madvise() on
 * a range of the main uffd would wait for this very thread to read the
 * REMOVE event. */
int stage_block_ready(uint8_t *p)
{
	madvise(p, UZ_BLOCK_SIZE, MADV_HUGEPAGE);
	/* a child gets staging of its own (evict_stage_reset), and an
	 * empty inactive list: sharing these copy-on-write would make
	 * their pages unmovable */
	map_dontfork(p, UZ_BLOCK_SIZE);
	/* an mlockall(MCL_FUTURE) of the application locks and fills new
	 * mappings: moves need an empty, unlocked destination */
	mem_zap(p, UZ_BLOCK_SIZE);
	return uffd_register(uz_agent.stage_uffd, (uint64_t)p, UZ_BLOCK_SIZE,
			     UFFDIO_REGISTER_MODE_WP);
}

static int stage_map(void)
{
	uint8_t *p = uz_agent.evict_stage;

	if (p) {
		int err = stage_block_remap(p);

		if (err)
			return err;
	} else {
		p = map_aligned(UZ_BLOCK_SIZE, UZ_BLOCK_SIZE, 1);
		if (!p)
			return -ENOMEM;
		uz_agent.evict_stage = p;
	}
	uz_agent.evict_stage_dirty = 0;
	return stage_block_ready(p);
}

/* Staging must be empty before a move: a page left there would be moved
 * into the application's holes when a block is put back, and stored
 * with the next block.  Emptied again, or replaced, when it is not. */
static int stage_check_empty(void)
{
	struct page_presence pp;
	int err = pagemap_block((uint64_t)uz_agent.evict_stage, &pp);

	if (err || !pp.count)
		return err;
	log_limited(UZ_LOG_WARN, 3, 60, "eviction staging was not empty "
		    "(%u pages); replacing it", pp.count);
	return stage_map();
}

int evict_stage_reset(void)
{
	/* the parent's staging is a hole in a child (MADV_DONTFORK), where
	 * a pthread_atfork child handler of the program's, run before
	 * ours, may have mapped memory: a new block, elsewhere */
	map_forget(uz_agent.evict_stage, UZ_BLOCK_SIZE);
	uz_agent.evict_stage = NULL;
	return stage_map();
}

void evict_free(int in_child)
{
	map_release(uz_agent.out_buf, uz_agent.out_cap);
	map_release(uz_agent.frame_buf, UZ_FRAME_SIZE);
	map_release(uz_agent.frame_buf2, UZ_FRAME_SIZE);
	if (in_child) /* MADV_DONTFORK: not in the child */
		map_forget(uz_agent.evict_stage, UZ_BLOCK_SIZE);
	else
		map_release(uz_agent.evict_stage, UZ_BLOCK_SIZE);
	uz_agent.out_buf = uz_agent.frame_buf = uz_agent.frame_buf2 = NULL;
	uz_agent.evict_stage = NULL;
}

/* Set once out_buf and the scratch frames are resident. */
static int buffers_resident;

/* The buffers and their lengths; 0 when they are not all there yet. */
static unsigned buffers_list(void **bufs, size_t *lens)
{
	if (!uz_agent.out_buf || !uz_agent.codec || !uz_agent.codec2)
		return 0;
	bufs[0] = uz_agent.out_buf, lens[0] = uz_agent.out_cap;
	bufs[1] = uz_agent.frame_buf, lens[1] = UZ_FRAME_SIZE;
	bufs[2] = uz_agent.frame_buf2, lens[2] = UZ_FRAME_SIZE;
	/* the codecs' state: 109 KB each for lz4, 742 KB at zstd:3, 1.8 MB
	 * at zstd:19, first written by the first encode */
	bufs[3] = uz_agent.codec, lens[3] = codec_map_len(uz_agent.codec);
	bufs[4] = uz_agent.codec2, lens[4] = codec_map_len(uz_agent.codec2);
	return 5;
}

uint64_t evict_buffers_missing(void)
{
	void *bufs[5];
	size_t lens[5];
	uint64_t sum = 0;
	unsigned n = buffers_resident ? 0 : buffers_list(bufs, lens);

	for (unsigned i = 0; i < n; i++)
		sum += lens[i];
	return sum;
}

void evict_buffers_ready(void)
{
	void *bufs[5];
	size_t lens[5];
	unsigned n = buffers_resident ? 0 : buffers_list(bufs, lens);

	if (!n)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (!madvise(bufs[i], lens[i], MADV_POPULATE_WRITE))
			continue;
		if (errno != EINVAL)
			return; /* no room now (ENOMEM): not by faulting either */
		memset(bufs[i], 0, lens[i]); /* before Linux 5.14 */
	}
	buffers_resident = 1;
}

void evict_buffers_forked(void)
{
	buffers_resident = 0;
}

int evict_init(void)
{
	buffers_resident = 0;
	uz_agent.out_cap = UZ_FRAMES_PER_BLOCK * frame_bound();
	uz_agent.out_buf = map_anon(uz_agent.out_cap, 0);
	uz_agent.frame_buf = map_anon(UZ_FRAME_SIZE, 0);
	uz_agent.frame_buf2 = map_anon(UZ_FRAME_SIZE, 0);
	if (!uz_agent.out_buf || !uz_agent.frame_buf || !uz_agent.frame_buf2)
		return -ENOMEM;
	/* a forked child's are its own, not the parent's pages shared
	 * copy-on-write: the first encode after a fork would copy them,
	 * on either side, at the limit (review probe pA_forkcow) */
	madvise(uz_agent.out_buf, uz_agent.out_cap, MADV_WIPEONFORK);
	madvise(uz_agent.frame_buf, UZ_FRAME_SIZE, MADV_WIPEONFORK);
	madvise(uz_agent.frame_buf2, UZ_FRAME_SIZE, MADV_WIPEONFORK);
	return stage_map();
}

/* Half of a block's encoding: frames [from, to) into their own part of
 * out_buf, with the codec and scratch of the thread doing it. */
struct encode_half {
	const struct page_presence *pp;
	struct uz_frame_desc *frames;
	unsigned from, to;
	struct codec *codec;
	uint8_t *scratch, *dst;
	size_t cap;
	int64_t len;
	uint64_t orig;
};

void evict_count_frame(uint8_t kind)
{
	switch (kind) {
	case UZ_FRAME_ZERO: stat_add(&uz_agent.stats->frames_zero, 1); break;
	case UZ_FRAME_FILL: stat_add(&uz_agent.stats->frames_fill, 1); break;
	case UZ_FRAME_RAW: stat_add(&uz_agent.stats->frames_raw, 1); break;
	default: stat_add(&uz_agent.stats->frames_packed, 1); break;
	}
}

static int encode_range(struct encode_half *h)
{
	uint64_t off = 0;
	unsigned f, p;

	h->orig = 0;
	for (f = h->from; f < h->to; f++) {
		const uint8_t *src = uz_agent.evict_stage + f * UZ_FRAME_SIZE;
		struct uz_frame_desc *d = &h->frames[f];
		unsigned present = 0;
		int len;

		for (p = 0; p < UZ_PAGES_PER_FRAME; p++)
			present += page_present(h->pp, f * UZ_PAGES_PER_FRAME + p);
		h->orig += (uint64_t)present * UZ_PAGE_SIZE;
		memset(d, 0, sizeof(*d));
		if (!present) {
			/* never touched: a zero frame, without reading it */
			d->kind = UZ_FRAME_ZERO;
			d->csum = frame_checksum(UZ_FRAME_ZERO, NULL, 0);
			stat_add(&uz_agent.stats->frames_zero, 1);
			continue;
		}
		if (present < UZ_PAGES_PER_FRAME) {
			/* holes read as zero; gather the frame so that the
			 * encoder sees exactly what the application would */
			for (p = 0; p < UZ_PAGES_PER_FRAME; p++) {
				uint8_t *dd = h->scratch + p * UZ_PAGE_SIZE;

				if (page_present(h->pp, f * UZ_PAGES_PER_FRAME + p))
					memcpy(dd, src + p * UZ_PAGE_SIZE, UZ_PAGE_SIZE);
				else
					memset(dd, 0, UZ_PAGE_SIZE);
			}
			src = h->scratch;
		}
		len = frame_encode(h->codec, src, h->dst + off, h->cap - off, d);
		if (len < 0)
			return h->len = len;
		d->off = off;
		off += len;
		evict_count_frame(d->kind);
	}
	h->len = off;
	return 0;
}

static int encode_job(void *arg, int half)
{
	return encode_range((struct encode_half *)arg + half);
}

/* Encode the staged block's frames into out_buf, half of them on the
 * worker thread; returns the payload bytes. */
static int64_t encode_block(const struct page_presence *pp,
			    struct uz_frame_desc *frames, uint64_t *orig)
{
	const unsigned mid = UZ_FRAMES_PER_BLOCK / 2;
	size_t part = uz_agent.out_cap / 2;
	struct encode_half h[2] = {
		{ pp, frames, 0, mid, uz_agent.codec, uz_agent.frame_buf,
		  uz_agent.out_buf, part, 0, 0 },
		{ pp, frames, mid, UZ_FRAMES_PER_BLOCK, uz_agent.codec2,
		  uz_agent.frame_buf2, uz_agent.out_buf + part, part, 0, 0 },
	};
	unsigned f;

	worker_split(encode_job, h);
	if (h[0].len < 0 || h[1].len < 0)
		return h[0].len < 0 ? h[0].len : h[1].len;
	/* one extent: the second half follows the first */
	memmove(uz_agent.out_buf + h[0].len, h[1].dst, h[1].len);
	for (f = mid; f < UZ_FRAMES_PER_BLOCK; f++)
		frames[f].off += h[0].len;
	*orig = h[0].orig + h[1].orig;
	return h[0].len + h[1].len;
}

/*
 * Move the block into staging.  A page UFFDIO_MOVE refuses (EBUSY: shared
 * after fork, KSM, pinned) stays where it is: the block is stored
 * without it and a later restore never overwrites a mapped page.
 */
int evict_move_out(uint64_t addr, int huge, unsigned *busy)
{
	uint64_t done;

	return uffd_move_around(uz_agent.stage_uffd,
				(uint64_t)uz_agent.evict_stage, addr, UZ_BLOCK_SIZE,
				-EBUSY, huge, busy, &done);
}

/* Which pages of @src are there: only those are copied back.  Staging
 * after a retake holds what moved out; the block's other pages are
 * stored in its record and absent in the application until they fault,
 * and a copy of all 2 MB mapped them as zeros for good (it_stress
 * --limit with mlock: the move back refused, EINVAL, found by bisecting
 * to 2cdaed5).  All of them when pagemap cannot say. */
static void src_pages(const uint8_t *src, struct page_presence *pp)
{
	if (pagemap_block((uint64_t)src, pp))
		memset(pp, 0xff, sizeof(*pp));
}

/* Page by page from @src, each to where it is now: an mremap moved part
 * of the block while it was away (events_watch_moved). */
static int put_back_pages(uint64_t addr, const uint8_t *src, uint64_t t0)
{
	struct page_presence pp;
	unsigned p;
	int err;

	src_pages(src, &pp);
	for (p = 0; p < UZ_PAGES_PER_BLOCK; p++) {
		uint64_t a = addr + (uint64_t)p * UZ_PAGE_SIZE;

		if (!page_present(&pp, p))
			continue;
		/* looked at again after each wait: a REMOVE read meanwhile
		 * may have dropped this very page */
		while (!events_watch_dropped(p)) {
			err = uffd_fill_range(uz_agent.uffd, uffd_op_copy,
					      a + events_watch_moved(a),
					      src + (uint64_t)p * UZ_PAGE_SIZE,
					      UZ_PAGE_SIZE);
			if (!err)
				break;
			if (err != -EAGAIN)
				return err;
			restore_settle_wait(t0, "putting a block back");
		}
	}
	return 0;
}

/* Pages the application dropped while the block was away (REMOVEs read
 * since events_watch) are zeros in @src: what is put back there reads as
 * they do now. */
static void zap_dropped(uint8_t *src)
{
	unsigned p;

	for (p = 0; p < UZ_PAGES_PER_BLOCK; p++)
		if (events_watch_dropped(p))
			mem_zap(src + (uint64_t)p * UZ_PAGE_SIZE, UZ_PAGE_SIZE);
}

/* Copy @src's pages that are there, from offset @from, into the block at
 * @addr; pages mapped there already are stepped over (EEXIST). */
static int copy_back_present(uint64_t addr, const uint8_t *src, uint64_t from)
{
	struct page_presence pp;
	unsigned p;
	int err;

	src_pages(src, &pp);
	for (p = (unsigned)(from / UZ_PAGE_SIZE); p < UZ_PAGES_PER_BLOCK; p++) {
		uint64_t off = (uint64_t)p * UZ_PAGE_SIZE;

		if (!page_present(&pp, p))
			continue;
		err = uffd_fill_range(uz_agent.uffd, uffd_op_copy, addr + off,
				      src + off, UZ_PAGE_SIZE);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Move a block held at @src (staging, or an inactive slot) back into the
 * application, page by page around anything already there; what will
 * not move is copied.  Waits out the kernel's EAGAIN (an event to read
 * first) for as long as it lasts: giving up would lose the block.  Pages
 * the application dropped while the block was away stay dropped.
 * Returns 0 or -errno when even the copy failed.
 */
static int move_back(uint64_t addr, uint8_t *src)
{
	uint64_t done, t0 = now_ns();
	unsigned kept;
	int err;

	for (;;) {
		if (events_watch_moved_any())
			return put_back_pages(addr, src, t0);
		zap_dropped(src);
		err = uffd_move_around(uz_agent.uffd, addr, (uint64_t)src,
				       UZ_BLOCK_SIZE, -EEXIST, 0, &kept, &done);
		if (err != -EAGAIN)
			break;
		/* EAGAIN with no event to read: the thread that caused it
		 * has yet to finish; copy instead, which waits it out */
		if (!restore_settle()) {
			log_limited(UZ_LOG_INFO, 3, 60, "block %#lx: cannot be "
				    "moved back (busy); copying it back",
				    (unsigned long)addr);
			break;
		}
	}
	/* EINVAL: the VMA's flags differ from ours now (mprotect, mlock) */
	while (err) {
		if (events_watch_moved_any())
			return put_back_pages(addr, src, t0);
		/* a REMOVE read while waiting: its pages must not be copied
		 * back with the rest (old data after MADV_DONTNEED, it_stress
		 * --auto 1 --clients 2 --kills 2: 46 pages, traced) */
		zap_dropped(src);
		err = copy_back_present(addr, src, done);
		if (err != -EAGAIN)
			break;
		restore_settle_wait(t0, "putting a block back");
	}
	return err;
}

/* The block being put back, and where it is held meanwhile (rawkid.c) */
static uint64_t putting_back;
static const uint8_t *putting_back_from;

uint64_t evict_putting_back(const uint8_t **src)
{
	*src = putting_back_from;
	return putting_back;
}

int evict_put_back(uint64_t addr, uint8_t *src)
{
	int err;

	events_watch(addr);
	putting_back_from = src;
	putting_back = addr;
	err = move_back(addr, src);
	if (err)
		log_err("block %#lx: cannot put it back: %s",
			(unsigned long)addr, strerror(-err));
	putting_back = 0;
	putting_back_from = NULL;
	events_watch(0);
	/* whatever stayed behind is not the application's any more */
	mem_zap(src, UZ_BLOCK_SIZE);
	return err;
}

/* Staging ready to take a block (a THP moves only onto an empty PMD). */
int evict_stage_ready(int huge)
{
	int err;

	if (huge && uz_agent.evict_stage_dirty) {
		err = stage_map();
		if (err)
			return err;
	}
	err = stage_check_empty();
	if (err)
		return err;
	/* an mlockall() of the application locked staging too; a move
	 * needs both sides alike, and locked memory is never evicted */
	munlock(uz_agent.evict_stage, UZ_BLOCK_SIZE);
	return 0;
}

/*
 * The block's only copy is its encoding in out_buf (its pages were freed
 * and the payload could not be written): decode it into staging and put
 * it back, the pages that were there (@pp) only: the others were holes,
 * and read as zero again.
 */
void evict_put_back_encoded(uint64_t addr, const struct page_presence *pp,
			    const struct uz_frame_desc *frames, int64_t len)
{
	unsigned f, p;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		const struct uz_frame_desc *d = &frames[f];

		/* a frame none of whose pages was there (a retake's frame
		 * still stored in the old record) stays out: decoding it
		 * would take memory when there is none to spare */
		if (d->kind == UZ_FRAME_ZERO || !frame_has_pages(pp, f))
			continue;
		/* our own encoding, just made: a failure here is a bug */
		if (d->off > (uint64_t)len ||
		    frame_decode(uz_agent.codec, d, uz_agent.out_buf + d->off,
				 (size_t)(len - d->off),
				 uz_agent.evict_stage + f * UZ_FRAME_SIZE))
			log_err("block %#lx: frame %u of its own encoding does "
				"not decode", (unsigned long)addr, f);
	}
	/* staging faulted in whole (a huge page, maybe): not more than the
	 * application had goes back (review probe pB_putback) */
	for (p = 0; p < UZ_PAGES_PER_BLOCK; p++)
		if (!page_present(pp, p))
			mem_zap(uz_agent.evict_stage + (uint64_t)p * UZ_PAGE_SIZE,
				UZ_PAGE_SIZE);
	uz_agent.evict_stage_dirty = 1; /* 4 KB pages, maybe */
	evict_put_back(addr, uz_agent.evict_stage);
}

int evict_write_staged(uint64_t addr, uint32_t idx, int64_t len)
{
	int err;

	/* the block is whole in out_buf: free its pages before the payload
	 * takes new ones, or a job held at its cgroup's limit is
	 * OOM-killed in this very write */
	mem_zap(uz_agent.evict_stage, UZ_BLOCK_SIZE);
	err = store_write(idx, uz_agent.out_buf, (uint32_t)len);
	if (err)
		/* EFBIG under a lowered RLIMIT_FSIZE, ENOSPC under strict
		 * overcommit, ENOMEM at a limit with the OOM killer off */
		log_limited(UZ_LOG_WARN, 3, 600, "the pool's write failed (%s): "
			    "block %#lx put back, eviction stops",
			    strerror(-err), (unsigned long)addr);
	return err;
}

/*
 * Encode and store the block staged for @addr (registered on the main
 * uffd; @pp: its pages in staging).  1 when stored; on failure it is put
 * back and unregistered, and -errno returned.
 */
static int store_staged(uint64_t addr, int huge, const struct page_presence *pp,
			uint64_t *bytes, uint64_t *stored)
{
	struct uz_frame_desc frames[UZ_FRAMES_PER_BLOCK];
	struct uz_block_rec *rec;
	struct block *b;
	uint64_t orig = 0;
	int64_t len;
	uint32_t idx;
	int err = 0;

	if (robust_in_block(addr) > 0) {
		/* the kernel must be able to read it at thread exit */
		stat_add(&uz_agent.stats->evict_busy, 1);
		err = -EBUSY;
	}
	len = err ? err : encode_block(pp, frames, &orig);
	err = len < 0 ? (int)len : store_reserve((uint32_t)len, &idx);
	if (!err) {
		b = blocks_insert(addr);
		if (!b) {
			store_unref(idx);
			err = -ENOSPC;
		}
	}
	if (err) {
		/* put everything back where it was: nothing is lost */
		evict_put_back(addr, uz_agent.evict_stage);
		/* a block is registered exactly while something of it is
		 * stored */
		uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
		return err;
	}
	rec = store_rec(idx);
	memcpy(rec->frames, frames, sizeof(frames));
	rec->addr = addr;
	rec->flags = huge ? UZ_REC_WAS_THP : 0;
	rec->orig_bytes = orig;
	b->rec = idx;
	b->stored = (uint32_t)((1ull << UZ_FRAMES_PER_BLOCK) - 1);
	b->flags = huge ? UZ_BLK_WAS_THP : 0;
	b->evicted_ms = now_ms();
	err = evict_write_staged(addr, idx, len);
	if (err) {
		blocks_remove(b); /* and the record */
		evict_put_back_encoded(addr, pp, frames, len);
		uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
		return err;
	}
	stage_want();

	stat_add(&uz_agent.stats->evicted_bytes, UZ_BLOCK_SIZE);
	stat_add(&uz_agent.stats->evicted_blocks_total, 1);
	stat_add(&uz_agent.stats->evicted_bytes_total, orig);
	*bytes = orig;
	*stored = len;
	return 1;
}

int evict_regain_own(uint64_t addr, int huge)
{
	struct page_presence pp;

	if (!pagemap_block_all_own(addr))
		return 0;
	if (huge) {
		/* one write fault decides for the whole THP: reused, the
		 * PMD stays (exclusive now); copied (something else holds a
		 * reference: a pipe after vmsplice, a zero-copy send), the
		 * mapping was split and one page copied: stop there */
		if (madvise((void *)(uintptr_t)addr, UZ_PAGE_SIZE, MADV_POPULATE_WRITE) ||
		    pagemap_block(addr, &pp) || !pp.huge)
			return 0;
		return 1;
	}
	return !madvise((void *)(uintptr_t)addr, UZ_BLOCK_SIZE, MADV_POPULATE_WRITE);
}

/*
 * A block partly back (4 KB or 64 KB refills) is taken again
 * (retake.c) once RETAKE_MIN_PAGES of its pages are in memory: else
 * memory brought back piecemeal would stay for good, and a job at its
 * cgroup's limit, whose blocks all have some pages back, would leave
 * the guard nothing to take (sort thrashed so).
 */

/* Pages of @b back in memory by its own bookkeeping: of a stored frame,
 * those back alone (or dropped: the bitmap does not tell); of a frame
 * back, its 16 less those dropped since, none for a zero frame (the
 * zero page).  Pages that never left (busy: shared with a live child,
 * pinned) are not counted: a block taken again for them would only be
 * stored as it was, at a decode and an encode each time (review probe
 * p4_busy). */
static unsigned pages_back(const struct block *b)
{
	const struct uz_block_rec *rec = store_rec(b->rec);
	unsigned f, gone, n = 0;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		gone = (unsigned)__builtin_popcount(block_frame_gone(b, f));
		if (b->stored & (1u << f))
			n += b->flags & UZ_BLK_PAGES_BACK ? gone : 0;
		else if (rec->frames[f].kind != UZ_FRAME_ZERO)
			n += UZ_PAGES_PER_FRAME - gone;
	}
	return n;
}

static int take_block(uint64_t addr, uint64_t *bytes, uint64_t *stored);

/* A block partly back, the old way, when the pool has no room for its
 * new record beside the old one: the stored rest comes back (counted as
 * refills), which lets go of the old record, and the block is taken as
 * any other; what it frees is what was in memory before. */
static int take_whole_again(uint64_t addr, struct block *b, unsigned back,
			    uint64_t *bytes, uint64_t *stored)
{
	int ret;

	if (restore_all_frames(b) || blocks_find(addr))
		return 0;
	ret = take_block(addr, bytes, stored);
	if (*bytes > (uint64_t)back * UZ_PAGE_SIZE)
		*bytes = (uint64_t)back * UZ_PAGE_SIZE;
	return ret;
}

int evict_block(uint64_t addr, uint64_t *bytes, uint64_t *stored)
{
	struct block *b = blocks_find(addr);
	unsigned back;
	int ret;

	*bytes = *stored = 0;
	if (!b)
		return take_block(addr, bytes, stored);
	back = pages_back(b);
	if (back < RETAKE_MIN_PAGES)
		return 0;
	ret = evict_retake(b, bytes, stored);
	/* a put-back may have let go of it (review probe p1_putback_drop) */
	if (ret != -ENOSPC || !(b = blocks_find(addr)))
		return ret;
	return take_whole_again(addr, b, back, bytes, stored);
}

static int take_block(uint64_t addr, uint64_t *bytes, uint64_t *stored)
{
	struct page_presence pp;
	unsigned busy;
	int err, huge, again = 1;

take:
	err = pagemap_block(addr, &pp);
	if (err)
		return err;
	if (!pp.count)
		return 0; /* nothing there to take */
	huge = pp.huge;
	err = evict_stage_ready(huge);
	if (err)
		return err;
	/* from here on, a touch of a hole or of a moved page faults to us */
	err = uffd_register(uz_agent.uffd, addr, UZ_BLOCK_SIZE,
			    UFFDIO_REGISTER_MODE_MISSING);
	if (err)
		return err;
	err = evict_move_out(addr, huge, &busy);
	if (err == -EBUSY) {
		err = 0;
		goto refused;
	}
	if (!huge)
		uz_agent.evict_stage_dirty = 1;
	if (!err)
		err = pagemap_block((uint64_t)uz_agent.evict_stage, &pp);
	if (!err && !pp.count)
		goto refused; /* every page stayed (busy): nothing taken */
	if (busy) /* taken without some pages */
		stat_add(&uz_agent.stats->evict_busy, 1);
	if (!err)
		return store_staged(addr, huge, &pp, bytes, stored);
	evict_put_back(addr, uz_agent.evict_stage);
	uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
	return err;
refused:
	/* the whole block stayed where it is: unregistered first (see
	 * evict_regain_own), then tried once more if it is ours again */
	uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
	if (again-- && evict_regain_own(addr, huge))
		goto take;
	stat_add(&uz_agent.stats->evict_busy, 1); /* once, whatever the tries */
	return 0;
}

int evict_from_slot(uint64_t addr, uint8_t *slot, int huge, uint64_t *bytes,
		    uint64_t *stored)
{
	struct page_presence pp;
	uint64_t done;
	unsigned busy = 0;
	int err;

	*bytes = *stored = 0;
	err = evict_stage_ready(huge);
	if (!err) {
		err = uffd_move_around(uz_agent.stage_uffd,
				       (uint64_t)uz_agent.evict_stage,
				       (uint64_t)slot, UZ_BLOCK_SIZE, -EBUSY, huge,
				       &busy, &done);
		if (!huge || err || busy)
			uz_agent.evict_stage_dirty = 1;
		if (!err && busy)
			err = -EBUSY; /* ours alone: never expected */
		if (err) /* all of it back into the slot */
			uffd_move_around(uz_agent.stage_uffd, (uint64_t)slot,
					 (uint64_t)uz_agent.evict_stage,
					 UZ_BLOCK_SIZE, -EEXIST, 0, &busy, &done);
	}
	if (!err)
		err = pagemap_block((uint64_t)uz_agent.evict_stage, &pp);
	if (err) {
		/* whichever of the two holds it now */
		evict_put_back(addr, slot);
		evict_put_back(addr, uz_agent.evict_stage);
		uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
		return err;
	}
	if (!pp.count) { /* it held nothing: the block is all holes */
		uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
		return 0;
	}
	return store_staged(addr, huge, &pp, bytes, stored);
}

struct evict_walk {
	const struct uz_evict *req;
	struct uz_evict_done *done;
	void (*progress)(uint64_t, uint64_t);
	uint64_t target;
	uint64_t last_report;
	int wrapped; /* UZ_EVICT_COLD: the walk's second part, below the hand */
	uint32_t now_ms;
	uint64_t start_hand; /* where this walk began (cold_hand moves on) */
	uint64_t spare; /* a block not to take (a fault waits on it) */
};

/* A walk is under way: one is never started inside another (the
 * regions' scan and the hand are the walk's). */
static int walking;
/* Moves on when a walk begins and with each block it takes out: a fault
 * waiting for room inside a walk looks at the limit again only then. */
static uint64_t walk_progress;

int evict_walking(void)
{
	return walking;
}

void evict_forget_walk(void)
{
	walking = 0;
}

/* A test's (UZSWAP_TEST_WALK_FORK_MS): a walk that begins while a fork
 * is under way (the daemon's request read with the agent frozen) holds
 * that long first, as a long scan of the regions would, so that the
 * kernel copies the child meanwhile (it_forkwalk). */
static void walk_fork_pause(void)
{
	static int pause_ms = -1;

	if (__atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST))
		uz_test_delay("UZSWAP_TEST_WALK_FORK_MS", &pause_ms);
}

uint64_t evict_walk_progress(void)
{
	return walk_progress;
}

/* UZ_EVICT_COLD: where the last automatic eviction stopped.  Successive
 * samples go round the address space instead of taking the lowest
 * blocks again and again.  The agent thread's alone. */
static uint64_t cold_hand;

/* Does the automatic walk @w leave @block out?  It goes from the hand up,
 * then from the bottom up to the hand, and never takes a block that was
 * brought back within the guard's window. */
static int cold_skip(const struct evict_walk *w, uint64_t block)
{
	if (!(w->req->flags & UZ_EVICT_COLD))
		return 0;
	if (block == w->spare ||
	    (w->wrapped ? block >= w->start_hand : block < w->start_hand))
		return 1;
	return recent_within(block, w->now_ms, w->req->guard_ms);
}

static int evict_one(uint64_t block, void *arg)
{
	struct evict_walk *w = arg;
	uint64_t bytes, stored;
	int ret;

	/* faults first: an application thread may be waiting on us; and
	 * one may be waiting for us to follow a credential change */
	restore_poll();
	if (rawkid_busy())
		rawkid_step(4);
	creds_catch_up();
	if (__atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&uz_agent.evict_hold, __ATOMIC_SEQ_CST) ||
	    coredump_pending()) {
		w->done->err = -EBUSY;
		return 1;
	}
	if (events_recently_removed(block) || events_block_in_task(block) ||
	    cold_skip(w, block))
		return 0; /* the next eviction takes it */
	ret = -ENOSPC;
	stored = 0;
	if (inactive_has(block) && (!(w->req->flags & UZ_EVICT_COLD) ||
				    !w->req->min_age_ms))
		/* asked for by hand, or near a cgroup's limit (no min-age):
		 * what waits on the list goes now, compressed */
		ret = inactive_compress(block, &bytes, &stored);
	else if ((w->req->flags & UZ_EVICT_COLD) && w->req->min_age_ms)
		/* a sample: uncompressed until it has stayed untouched */
		ret = inactive_take(block, w->req->min_age_ms, &bytes);
	if (ret == -ENOSPC) /* the list is full: compressed at once */
		ret = evict_block(block, &bytes, &stored);
	if (ret < 0) {
		w->done->skipped++;
		if (ret != -ENOSPC && ret != -ENOMEM && ret != -EFBIG &&
		    ret != -EIO)
			return 0;
		w->done->err = ret;
		return 1; /* the arena is full, or takes no more writes */
	}
	if (ret == 0)
		return 0;
	if (w->req->flags & UZ_EVICT_COLD) {
		struct block *b = blocks_find(block); /* NULL if inactive */

		cold_hand = block + UZ_BLOCK_SIZE;
		if (b) /* its first touch brings it back whole (refill.c) */
			b->flags |= UZ_BLK_SAMPLED;
	}
	walk_progress++;
	w->done->blocks++;
	w->done->bytes += bytes;
	w->done->stored += stored;
	if (w->progress && w->done->bytes - w->last_report >= (64u << 20)) {
		w->last_report = w->done->bytes;
		w->progress(w->done->bytes, w->target);
	}
	return !(w->req->flags & UZ_EVICT_ALL) && w->done->bytes >= w->target;
}

/*
 * The blocks an automatic walk may take, in the order a scan offers
 * them (COLD-hinted first, then the rest, each in address order): read
 * once per walk.  The scan reads /proc/self/smaps for each VMA's flags,
 * which walks every page table (20 ms for sort's 2 GB buffer), and a
 * walk went through it up to four times (hinted and not, from the hand
 * and round again), eight more for the guard's passes: sort's agent
 * spent 80 % of its time in the kernel doing it.
 */
#define WALK_MAX_BLOCKS 32768 /* 64 GB of 2 MB blocks; beyond: scans */
static uint64_t walk_blocks[WALK_MAX_BLOCKS];
static uint32_t walk_n;
static int walk_full;

static int collect(uint64_t block, void *arg)
{
	(void)arg;
	if (walk_n == WALK_MAX_BLOCKS) {
		walk_full = 1;
		return 1;
	}
	walk_blocks[walk_n++] = block;
	return 0;
}

/* One round of @w over what collect() listed, or over a scan when it
 * could not list them all; < 0: the scan's error. */
static int64_t walk_round(struct evict_walk *w, int listed)
{
	if (!listed)
		return regions_scan(evict_one, w);
	for (uint32_t i = 0; i < walk_n; i++)
		if (evict_one(walk_blocks[i], w))
			break;
	return 0;
}

/* A test's (UZSWAP_TEST_WALK_SETTLE_MS): that long at a walk's end, then
 * the uffd read as a put-back's EAGAIN reads it (move_back), faults
 * kept for later: the loop must serve what it kept (it_walkdefer). */
static void walk_end_settle(void)
{
	static int settle_ms = -1;

	uz_test_delay("UZSWAP_TEST_WALK_SETTLE_MS", &settle_ms);
	if (settle_ms)
		restore_settle();
}

/*
 * Walk @req, then (UZ_EVICT_COLD) again with each of the @n_more guard
 * windows in @more while less than the target was taken: the list is
 * read once.  Never block @spare.
 */
static void evict_walk_from(const struct uz_evict *req,
			    struct uz_evict_done *done,
			    void (*progress)(uint64_t, uint64_t), uint64_t spare,
			    const uint32_t *more, unsigned n_more)
{
	struct uz_evict pass = *req;
	struct evict_walk w = { &pass, done, progress, req->bytes, 0, 0,
				now_ms(), cold_hand, spare };
	uint64_t t0 = now_ns(), busy0 = uz_agent.stats->evict_busy;
	int cold = req->flags & UZ_EVICT_COLD, listed = 0;
	int64_t managed = 0, registered = 0;

	memset(done, 0, sizeof(*done));
	if (walking) {
		done->err = -EBUSY;
		return;
	}
	if (!pagemap_available()) {
		done->err = -EACCES; /* said at start (agent.c) */
		return;
	}
	/* before any block is registered; see hold_begin() */
	__atomic_store_n(&uz_agent.evicted_once, 1, __ATOMIC_SEQ_CST);
	walking = 1;
	walk_progress++;
	walk_fork_pause();
	if (cold) {
		walk_n = 0;
		walk_full = 0;
		managed = registered = regions_scan(collect, NULL);
		listed = managed >= 0 && !walk_full;
	}
	for (unsigned i = 0; managed >= 0 && i <= n_more; i++) {
		if (i)
			pass.guard_ms = more[i - 1];
		w.wrapped = 0;
		managed = walk_round(&w, listed);
		if (managed >= 0 && cold && !done->err && done->bytes < w.target) {
			/* round again from the bottom, up to where this
			 * one began */
			w.wrapped = 1;
			managed = walk_round(&w, listed);
		}
		if (done->err || done->bytes >= w.target || !cold)
			break;
	}
	walking = 0;
	walk_end_settle();
	if (managed < 0)
		done->err = (int32_t)managed;
	else
		uz_agent.stats->registered_bytes = listed ? registered : managed;
	done->busy = uz_agent.stats->evict_busy - busy0;
	done->usec = (now_ns() - t0) / 1000;
}

void evict_run(const struct uz_evict *req, struct uz_evict_done *done,
	       void (*progress)(uint64_t done_bytes, uint64_t target))
{
	/* the daemon's or uzswapctl's walk; the guard's (evict_make_room)
	 * has just done both, its look at the limit */
	limitguard_ready_buffers();
	/* near the limit, the staging filler's huge pages would take what
	 * this walk frees (limitguard tells it) */
	limitguard_near(0);
	evict_walk_from(req, done, progress, UINT64_MAX, NULL, 0);
}

void evict_make_room(uint64_t bytes, const uint32_t *guard_ms, unsigned n,
		     uint64_t spare, struct uz_evict_done *done)
{
	/* compressed at once (no inactive list: it frees nothing), the
	 * walk of the automatic steps, the same guard */
	struct uz_evict req = { .bytes = bytes, .flags = UZ_EVICT_COLD,
				.guard_ms = n ? guard_ms[0] : 0 };

	/* not while a fork is under way (the regions' scan would hold the
	 * tables' lock as the child is copied); inside another walk, the
	 * walk says -EBUSY itself */
	if (uz_agent.frozen ||
	    __atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST)) {
		memset(done, 0, sizeof(*done));
		done->err = -EBUSY;
		return;
	}
	evict_walk_from(&req, done, NULL, spare, n ? guard_ms + 1 : NULL,
			n ? n - 1 : 0);
}
