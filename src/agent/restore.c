/* SPDX-License-Identifier: MIT */
/* Serving faults: bringing back a 64 KB frame or the whole 2 MB block. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blocks.h"
#include "codec.h"
#include "creds.h"
#include "events.h"
#include "faultq.h"
#include "fork.h"
#include "inactive.h"
#include "latency.h"
#include "log.h"
#include "msg.h"
#include "recent.h"
#include "refill.h"
#include "regions.h"
#include "restore.h"
#include "zapwait.h"
#include "stage.h"
#include "limitguard.h"
#include "store.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "uzswap.h"

#define RETRY_MAX 1024 /* more than that many waiting threads refault */

static uint8_t *dec_buf; /* one decoded frame */
/* payload bytes, read out of the arena (see store_read): one frame's,
 * or a whole block's; given back while nothing is evicted */
#define PAYLOAD_MAX UZ_BLOCK_SIZE
static uint8_t *payload;
static int payload_used;

/* faults the kernel asked us to retry (-EAGAIN: the address space was
 * changing) wait here until the events that changed it are read */
static struct faultq_entry retry_slots[RETRY_MAX];
static struct faultq retry = { retry_slots, RETRY_MAX, 0, 0, 0 };

/* faults read while waiting out an EAGAIN (restore_settle), served at
 * the next restore_poll */
#define DEFER_MAX 4096
static struct faultq_entry *deferred_slots;
static struct faultq deferred;

static uint64_t finish_addr; /* block to finish, frame by frame, idle */
static int finish_one(struct block *b);
static uint64_t prefetch_next; /* next block to restore ahead */
/* the daemon's word on how much a fault brings back (UZ_EVICT_REFILL) */
static struct refill_params refill_params = { UZ_REFILL_READAHEAD_DEFAULT,
					      UZ_REFILL_FINISH_DEFAULT };
static unsigned prefetch_left;
/* how page refills pay in this process (refill.h) */
static struct refill_adapt refill_adapt;

/* The refill module's view of @b, for a fault in frame @f. */
static struct refill_history history_of(const struct block *b, unsigned f)
{
	struct refill_history h = { b->stored, !!(b->flags & UZ_BLK_WAS_THP),
				    b->last_frame, b->seq_refills,
				    !!(b->flags & UZ_BLK_SAMPLED),
				    !!(b->flags & UZ_BLK_PAGES_BACK),
				    block_frame_gone(b, f) };

	return h;
}

void restore_free(int in_child)
{
	map_release(dec_buf, UZ_FRAME_SIZE);
	map_release(payload, PAYLOAD_MAX);
	map_release(deferred_slots, DEFER_MAX * sizeof(*deferred_slots));
	dec_buf = payload = NULL;
	deferred_slots = NULL;
	faultq_init(&deferred, NULL, 0);
	/* faults of the uffd we had (a parent's threads, in a child) */
	faultq_clear(&retry);
	if (in_child)
		stage_forget();
	else
		stage_free();
}

int restore_init(void)
{
	dec_buf = map_anon(UZ_FRAME_SIZE, 0);
	payload = map_aligned(PAYLOAD_MAX, UZ_BLOCK_SIZE, 1);
	deferred_slots = map_anon(DEFER_MAX * sizeof(*deferred_slots), 0);
	if (!dec_buf || !payload || !deferred_slots)
		return -ENOMEM;
	faultq_init(&deferred, deferred_slots, DEFER_MAX);
	return stage_init();
}

void restore_set_refill(const struct uz_evict *e)
{
	/* out of range is the daemon's mistake (or not the daemon's
	 * message): the nearest value in range, so at worst 64 blocks read
	 * ahead, or every block finished after its first refill */
	refill_params.readahead = e->readahead > UZ_REFILL_READAHEAD_MAX ?
					  UZ_REFILL_READAHEAD_MAX : e->readahead;
	refill_params.finish_after =
		e->finish_after < 1 ? 1 :
		e->finish_after > UZ_REFILL_FINISH_MAX ? UZ_REFILL_FINISH_MAX :
							  e->finish_after;
	/* the room a fault makes at the limit spares what the automatic
	 * steps spare */
	if ((e->flags & UZ_EVICT_COLD) && e->guard_ms)
		limitguard_set_window(e->guard_ms);
}

int restore_idle(void)
{
	struct block *b;

	if (uz_agent.frozen)
		return 0;
	if (!blocks_count()) {
		stage_release();
		if (payload_used)
			madvise(payload, PAYLOAD_MAX, MADV_DONTNEED);
		payload_used = 0;
	}
	/* nothing brought back unasked at the cgroup's limit */
	if ((finish_addr || prefetch_left) && limitguard_near(UZ_BLOCK_SIZE)) {
		finish_addr = 0;
		prefetch_left = 0;
		return 0;
	}
	if (finish_addr) {
		if (events_pending_run(finish_addr))
			return 0; /* an mremap's copy waits: later */
		b = blocks_find(finish_addr);
		if (!b || !finish_one(b))
			finish_addr = 0;
		return 1;
	}
	if (!prefetch_left)
		return 0;
	if (events_pending_run(prefetch_next))
		return 0;
	b = blocks_find(prefetch_next);
	if (b) {
		struct refill_history h = history_of(b, 0);

		if (!refill_may_read_ahead(&h, regions_shape_at(prefetch_next)))
			b = NULL;
	}
	if (!b) {
		prefetch_left = 0;
		return 0;
	}
	prefetch_left--;
	prefetch_next += UZ_BLOCK_SIZE;
	uz_agent.seq_next_block = prefetch_next;
	if (restore_block_whole(b) == 0)
		stat_add(&uz_agent.stats->prefetch_2m, 1);
	return 1;
}

/* Frame @f of @b from its payload @p (@avail bytes from there) into
 * @dst; then pages the application dropped since eviction read back as
 * zero. */
static void zero_dropped(const struct block *b, unsigned f, uint8_t *dst)
{
	unsigned pg;

	for (pg = 0; pg < UZ_PAGES_PER_FRAME; pg++)
		if (block_page_zeroed(b, f * UZ_PAGES_PER_FRAME + pg))
			memset(dst + pg * UZ_PAGE_SIZE, 0, UZ_PAGE_SIZE);
}

static int decode_with(const struct block *b, unsigned f, const uint8_t *p,
		       uint32_t avail, uint8_t *dst, struct codec *codec)
{
	/* malformed or failing its checksum: either way never mapped */
	if (frame_decode(codec, &store_rec(b->rec)->frames[f], p, avail, dst))
		return -EBADMSG;
	zero_dropped(b, f, dst);
	return 0;
}

/* Frame @f of record @rec into @dst, at least its first @want bytes,
 * its payload read into @buf (@cap bytes). */
static int decode_into_part(uint32_t rec, unsigned f, uint8_t *buf,
			    uint32_t cap, uint8_t *dst, size_t want)
{
	const struct uz_block_rec *r = store_rec(rec);
	const struct uz_frame_desc *d = &r->frames[f];

	if (d->len > cap || store_read(r, d->off, d->len, buf) ||
	    frame_decode_part(uz_agent.codec, d, buf, d->len, dst, want))
		return -EBADMSG;
	return 0;
}

int restore_decode_into(uint32_t rec, unsigned f, uint8_t *buf, uint32_t cap,
			uint8_t *dst)
{
	return decode_into_part(rec, f, buf, cap, dst, UZ_FRAME_SIZE);
}

/* Frame @f of @b into @dst, at least its first @want bytes. */
static int restore_decode_part(const struct block *b, unsigned f,
			       uint8_t *dst, size_t want)
{
	int err;

	payload_used = 1;
	err = decode_into_part(b->rec, f, payload, PAYLOAD_MAX, dst, want);
	if (!err)
		zero_dropped(b, f, dst);
	return err;
}

int restore_decode(const struct block *b, unsigned f, uint8_t *dst)
{
	return restore_decode_part(b, f, dst, UZ_FRAME_SIZE);
}

/* Each half of a split decode reads its own frames' payload first: the
 * halves lie one after the other, as eviction wrote them. */
int restore_decode_frames(const struct block *b, unsigned from, unsigned to,
			  uint8_t *stage)
{
	const struct uz_block_rec *rec = store_rec(b->rec);
	uint32_t all = rec->payload_bytes;
	uint32_t lo = from ? rec->frames[from].off : 0;
	uint32_t hi = to < UZ_FRAMES_PER_BLOCK ? rec->frames[to].off : all;
	const struct uz_frame_desc *d;
	unsigned f;

	if (all > PAYLOAD_MAX || lo > hi || hi > all ||
	    store_read(rec, lo, hi - lo, payload + lo))
		return -EBADMSG;
	for (f = from; f < to; f++) {
		d = &rec->frames[f];
		/* a fresh huge page is already zero */
		if (d->kind == UZ_FRAME_ZERO && !block_frame_zeroed(b, f))
			continue;
		if (d->off < lo || d->off > hi ||
		    decode_with(b, f, payload + d->off, hi - d->off,
				stage + f * UZ_FRAME_SIZE,
				from ? uz_agent.codec2 : uz_agent.codec))
			return -EBADMSG;
	}
	return 0;
}

static void report_bad_frame(const struct block *b, unsigned f)
{
	struct uz_csum_fail cf = { b->addr, f, b->rec };

	/* the daemon logs it too: the application may not have a stderr */
	if (uz_agent.sock >= 0)
		msg_send(uz_agent.sock, UZ_MSG_CSUM_FAIL, 0, &cf, sizeof(cf), -1);
	stat_add(&uz_agent.stats->csum_failures, 1);
	log_err("checksum failed: block %#lx frame %u (record %u); the "
		"application gets SIGBUS there",
		(unsigned long)b->addr, f, b->rec);
}

/* The block no longer holds anything: stop catching faults there so
 * the kernel serves them normally (and can fault THPs in again). */
static void block_release(struct block *b)
{
	uint64_t addr = b->addr;

	blocks_remove(b);
	events_unregister_block(addr);
	/* idle work meant for it must not meet the block taken there
	 * next */
	restore_forget_idle(addr);
}

void restore_forget_idle(uint64_t addr)
{
	if (finish_addr == addr)
		finish_addr = 0;
	if (prefetch_left && prefetch_next == addr)
		prefetch_left = 0;
}

int restore_frame_done(struct block *b, unsigned f)
{
	if (!(b->stored & (1u << f)))
		return 0;
	b->stored &= ~(1u << f);
	stat_add(&uz_agent.stats->evicted_bytes, -(int64_t)UZ_FRAME_SIZE);
	if (b->stored) {
		store_release_frame(b->rec, f, b->stored);
		return 0;
	}
	block_release(b);
	return 1;
}

/* A fault where nothing is stored: the page was dropped (MADV_DONTNEED
 * and the like) after eviction or restore, so it reads as zero. */
static int fault_zero(uint64_t addr)
{
	uint64_t page = addr & ~(uint64_t)(UZ_PAGE_SIZE - 1);

	return uffd_fill_range(uz_agent.uffd, uffd_op_zero, page, NULL,
			       UZ_PAGE_SIZE);
}

/* The last fill_from_frame's decode and copy times, for fault() to add
 * to the counters once the fault is resolved (agent thread only) */
static uint64_t fill_decode_ns, fill_copy_ns;
static int fill_timed;

/* What fill_from_frame put back: data, the zero page, or poison. */
enum fill_kind { FILL_DATA, FILL_ZERO, FILL_BAD };

/* Pages [@pg, @pg + @n) of frame @f back: COPY, or the zero page for a
 * zero frame, or poison when its checksum fails (all of the frame then).
 * 0 or -errno. */
static int fill_from_frame(struct block *b, unsigned f, unsigned pg,
			   unsigned n, enum fill_kind *kind)
{
	const struct uz_frame_desc *d = &store_rec(b->rec)->frames[f];
	uint64_t frame = b->addr + (uint64_t)f * UZ_FRAME_SIZE;
	uint64_t dst = frame + (uint64_t)pg * UZ_PAGE_SIZE;
	uint64_t len = (uint64_t)n * UZ_PAGE_SIZE, t0;

	*kind = d->kind == UZ_FRAME_ZERO ? FILL_ZERO : FILL_DATA;
	if (*kind == FILL_ZERO)
		return uffd_fill_range(uz_agent.uffd, uffd_op_zero, dst, NULL, len);
	/* up to the last page asked for: lz4 stops there */
	t0 = now_ns();
	if (restore_decode_part(b, f, dec_buf, (uint64_t)(pg + n) * UZ_PAGE_SIZE) == 0) {
		uint64_t t1 = now_ns();
		int err = uffd_fill_range(uz_agent.uffd, uffd_op_copy, dst,
					  dec_buf + (uint64_t)pg * UZ_PAGE_SIZE, len);

		fill_decode_ns = t1 - t0;
		fill_copy_ns = now_ns() - t1;
		fill_timed = !err;
		return err;
	}
	/* the whole frame, whatever was asked: a later restore of its other
	 * pages would otherwise be tried, and a read that works then would
	 * copy over this page's poison (UFFDIO_COPY replaces the marker) */
	*kind = FILL_BAD;
	report_bad_frame(b, f);
	return uffd_fill_range(uz_agent.uffd, uffd_op_poison, frame, NULL,
			       UZ_FRAME_SIZE);
}

/* Put frame @f back.  Returns 1 when @b was freed. */
static int restore_frame(struct block *b, unsigned f, int *err)
{
	enum fill_kind kind;

	*err = fill_from_frame(b, f, 0, UZ_PAGES_PER_FRAME, &kind);
	if (*err)
		return 0;
	if (kind == FILL_ZERO)
		stat_add(&uz_agent.stats->restores_zero, 1);
	stat_add(&uz_agent.stats->restores_64k, 1);
	return restore_frame_done(b, f);
}

/*
 * Put page @pg of frame @f back alone; the frame stays stored for its
 * other pages, this one marked as not wanted from it (it is mapped: a
 * later restore of the frame steps over it).  Only the first page of a
 * frame comes back so (refill.c), never its last.  Returns 1 when @b
 * was freed (a bad frame, poisoned whole).
 */
static int restore_page(struct block *b, unsigned f, unsigned pg, int *err)
{
	unsigned p = f * UZ_PAGES_PER_FRAME + pg;
	enum fill_kind kind;

	*err = fill_from_frame(b, f, pg, 1, &kind);
	if (*err)
		return 0;
	if (kind == FILL_BAD) /* all of it poisoned: nothing left stored */
		return restore_frame_done(b, f);
	stat_add(&uz_agent.stats->restores_4k, 1);
	b->zeroed[p / 64] |= 1ull << (p % 64);
	b->flags |= UZ_BLK_PAGES_BACK;
	return 0;
}

/* Restore the next stored frame of @b; 0 when none was left. */
static int finish_one(struct block *b)
{
	unsigned f;
	int err = 0;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++)
		if (b->stored & (1u << f)) {
			restore_frame(b, f, &err);
			return 1;
		}
	return 0;
}

int restore_all_frames(struct block *b)
{
	unsigned f;
	int err = 0;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++)
		if (b->stored & (1u << f))
			if (restore_frame(b, f, &err) || err)
				break;
	return err;
}

/*
 * Decode the whole block into a fresh THP and move it in with one
 * UFFDIO_MOVE: the application gets a PMD-mapped huge page back in one
 * fault.  Only for a block none of whose frames came back yet.
 */
int restore_block_whole(struct block *b)
{
	int i, err = 0;
	uint8_t *stage = stage_take(&i);
	uint64_t off;
	unsigned kept;

	payload_used = 1;
	if (!stage)
		return restore_all_frames(b); /* no staging block is usable */
	if (stage_decode_split(b, stage)) {
		/* keep the good frames apart from the bad one */
		stage_put(i, 1);
		return restore_all_frames(b);
	}
	/* the application's page (kept when busy) wins over ours */
	err = uffd_move_around(uz_agent.uffd, b->addr, (uint64_t)stage,
			       UZ_BLOCK_SIZE, -EEXIST, 0, &kept, &off);
	/* whatever did not go in is dropped (a skipped page would otherwise
	 * stay in staging and show through a zero frame of a later block);
	 * on an error the frames stay stored and a retry restores them */
	stage_put(i, off < UZ_BLOCK_SIZE || err || kept);
	/* frame by frame with UFFDIO_COPY instead when the block cannot be
	 * moved in whole: UFFDIO_MOVE wants both VMAs alike and the block
	 * in one (not so after mprotect() or mlock() of part of it), or it
	 * says EAGAIN with no event left to read (COPY fails that way only
	 * while the thread behind the event has yet to finish: retried).
	 * Pages moved already are stepped over (EEXIST). */
	if (err == -EINVAL || err == -ENOENT ||
	    (err == -EAGAIN && !restore_settle())) {
		log_limited(UZ_LOG_INFO, 3, 60, "block %#lx: cannot be moved in "
			    "whole (%s); restoring it in 64 KB frames",
			    (unsigned long)b->addr, strerror(-err));
		return restore_all_frames(b);
	}
	if (err)
		return err;
	/* a move in one piece woke the faulting threads itself */
	if (kept)
		uffd_wake(uz_agent.uffd, b->addr, UZ_BLOCK_SIZE);
	stat_add(&uz_agent.stats->evicted_bytes,
		 -(int64_t)block_stored_bytes(b));
	b->stored = 0;
	block_release(b);
	return 0;
}

/* A fault served by one fill_from_frame: its times into the counters */
static void fill_count_time(uint64_t total_ns)
{
	struct uz_client_stats *s = uz_agent.stats;

	stat_add(&s->fill_count, 1);
	stat_add(&s->fill_ns, total_ns);
	stat_add(&s->fill_decode_ns, fill_decode_ns);
	stat_add(&s->fill_copy_ns, fill_copy_ns);
}

static int fault(uint64_t addr, uint64_t t0)
{
	uint64_t blk = block_of(addr);
	unsigned f = (addr - blk) / UZ_FRAME_SIZE;
	unsigned pg = (addr - blk) % UZ_FRAME_SIZE / UZ_PAGE_SIZE;
	struct block *b;
	int err = 0, whole = 0;

	zapwait_faulted(addr); /* absent: a REMOVE's zap of it is done */
	/* what comes back is charged: room first, at the limit.  First
	 * of all: making it serves the application's events (an mremap
	 * onto this page, an UNMAP), and all below must see them, as it
	 * sees them when the kernel's EAGAIN sends a fault back */
	if (limitguard_make_room(UZ_BLOCK_SIZE, blk, now_ns() - t0) ==
	    -EINPROGRESS)
		/* at the limit inside a walk: retried once the walk has
		 * taken another block out, or after it */
		return -EAGAIN;
	/* stored pages an mremap moved here are copied in first, and
	 * pages moved away from here go first (the block is not theirs) */
	err = events_pending_run(blk);
	if (err)
		return err;
	/* on the inactive list: moved back whole, nothing to decode */
	err = inactive_fault(blk);
	if (err > 0) {
		stat_add(&uz_agent.stats->faults, 1);
		latency_add(uz_agent.stats->fault_lat, now_ns() - t0);
		return 0;
	}
	if (err < 0)
		return err;
	b = blocks_find(blk);
	/* nothing stored there, or a page whose stored copy is not wanted:
	 * dropped (zero), or back alone already (a second thread's fault:
	 * EEXIST, and it is woken) */
	if (!b || !(b->stored & (1u << f)) ||
	    block_page_zeroed(b, f * UZ_PAGES_PER_FRAME + pg)) {
		err = fault_zero(addr);
	} else {
		struct refill_fault rf = { blk, addr, regions_shape_at(addr),
					   uz_agent.seq_next_block,
					   refill_params, &refill_adapt };
		struct refill_history h = history_of(b, f);
		struct refill_plan plan = refill_decide(&h, &rf);
		uint32_t now = now_ms();

		/* the refault history: how long the block stayed cold */
		if (!(b->flags & UZ_BLK_REFAULTED)) {
			b->flags |= UZ_BLK_REFAULTED;
			latency_add(uz_agent.stats->refault_age_ms,
				    now - b->evicted_ms);
		}
		/* the thrash guard, and what the guard at the limit takes
		 * last: its latest fault */
		recent_note(blk, now);

		b->last_frame = h.last_frame;
		b->seq_refills = h.seq_refills;
		if (plan.whole) {
			whole = 1;
			err = restore_block_whole(b);
			if (!err) {
				stat_add(&uz_agent.stats->restores_2m, 1);
				uz_agent.seq_next_block = blk + UZ_BLOCK_SIZE;
				prefetch_next = blk + UZ_BLOCK_SIZE;
				prefetch_left = plan.readahead;
			}
		} else {
			int freed;

			if (plan.finish)
				finish_addr = blk;
			fill_timed = 0;
			freed = plan.page ? restore_page(b, f, pg, &err) :
					    restore_frame(b, f, &err);
			if (fill_timed)
				fill_count_time(now_ns() - t0);
			if (freed && finish_addr == blk)
				finish_addr = 0;
		}
	}
	if (err)
		return err;
	stat_add(&uz_agent.stats->faults, 1);
	latency_add(uz_agent.stats->fault_lat, now_ns() - t0);
	if (whole)
		latency_add(uz_agent.stats->restore2m_lat, now_ns() - t0);
	return 0;
}

static void fault_or_queue(uint64_t addr, uint64_t flags, uint64_t t0)
{
	int err = fault(addr, t0);

	if (err == -EAGAIN && !faultq_push(&retry, addr, flags, t0))
		return;
	if (err) {
		log_limited(UZ_LOG_WARN, 5, 10, "fault at %#lx not served: %s; "
			    "waking the thread", (unsigned long)addr,
			    strerror(-err));
		/* it faults again and comes back to us */
		uffd_wake(uz_agent.uffd, addr & ~(uint64_t)(UZ_PAGE_SIZE - 1),
			  UZ_PAGE_SIZE);
	}
}

static void serve_queued(const struct faultq_entry *e, void *arg)
{
	(void)arg;
	fault_or_queue(e->addr, e->flags, e->t0);
}

/* Faults kept by restore_settle count: their messages are read, and the
 * uffd will not wake the loop for them (a walk that ended waiting out
 * an EAGAIN left a lone reader waiting until something else came). */
int restore_pending(void)
{
	return faultq_len(&retry) > 0 || faultq_len(&deferred) > 0 ||
	       events_pending_run(0) > 0;
}

/* A fault kept for later (@keep_faults of read_messages). */
static void defer(const struct uffd_msg *m)
{
	if (!faultq_push(&deferred, m->arg.pagefault.address,
			 m->arg.pagefault.flags, now_ns()))
		return;
	/* no room: let the thread fault again later instead */
	uffd_wake(uz_agent.uffd, m->arg.pagefault.address &
		  ~(uint64_t)(UZ_PAGE_SIZE - 1), UZ_PAGE_SIZE);
}

/* The FORK event ends a freeze: the kernel sends it once the child's
 * copy is made. */
static void fork_event(const struct uffd_msg *m)
{
	uz_agent.fork_ufd = (int)m->arg.fork.ufd;
	uz_agent.frozen = 0;
}

/*
 * Read every message waiting on the uffd.  Faults are served, or with
 * @keep_faults kept for the next restore_poll.  Everything is acted on
 * even while a fork is under way: the forking thread itself, or a thread
 * holding a lock it needs (malloc's, taken after the prepare hooks), may
 * be the one faulting; and reading an event lets its thread go on (an
 * MADV_DONTNEED returns, an mremap'd range is read), so an event put
 * aside would have its thread read what the table said before it.  The
 * child starts from the table as it was before the fork
 * (blocks_from_snapshot).  Returns the number of messages read.
 */
static int read_messages(int keep_faults)
{
	struct uffd_msg msgs[16];
	int got = 0;

	for (;;) {
		ssize_t n = read(uz_agent.uffd, msgs, sizeof(msgs));
		uint64_t t0 = now_ns();
		int i, count;

		if (n <= 0)
			break;
		count = (int)(n / (ssize_t)sizeof(msgs[0]));
		/* every event of the batch first, in order, then its faults.
		 * Reading an event let its thread go on, so the table must
		 * follow before anything else runs, and serving a fault can
		 * run a walk (the guard's, at the limit), which reads and
		 * serves the uffd again and evicts: an UNMAP left in this
		 * batch meanwhile dropped what the application had since
		 * written to the range mapped again there (review probe
		 * p_mut: whole blocks of zeros).  A raw clone's child was
		 * copied before these faults, too, and serving them changes
		 * the table. */
		for (i = 0; i < count; i++)
			if (msgs[i].event == UFFD_EVENT_FORK && uz_agent.frozen) {
				fork_event(&msgs[i]);
			} else if (msgs[i].event != UFFD_EVENT_PAGEFAULT) {
				if (msgs[i].event == UFFD_EVENT_REMOVE)
					fork_window_drop(&msgs[i]);
				events_handle(&msgs[i]);
			}
		for (i = 0; i < count; i++)
			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			else if (keep_faults)
				defer(&msgs[i]);
			else
				fault_or_queue(msgs[i].arg.pagefault.address,
					       msgs[i].arg.pagefault.flags, t0);
		got += count;
	}
	return got;
}

int restore_settle(void)
{
	return read_messages(1) > 0;
}

void restore_settle_wait(uint64_t t0, const char *what)
{
	struct timespec pause = { 0, 50000 };

	/* one may be waiting for us to follow a credential change */
	creds_catch_up();
	if (restore_settle())
		return;
	/* read already: the application's thread has yet to run */
	nanosleep(&pause, NULL);
	if (now_ns() - t0 > 10000000000ull)
		log_limited(UZ_LOG_WARN, 1, 10, "%s: still waiting for an "
			    "mremap or madvise of the application to finish "
			    "(%lu s)", what,
			    (unsigned long)((now_ns() - t0) / 1000000000ull));
}

void restore_replay(void)
{
	faultq_drain(&deferred, serve_queued, NULL);
}

void restore_reset(void)
{
	faultq_clear(&deferred);
	faultq_clear(&retry);
	/* the parent's read-ahead and the block it was finishing: not
	 * the child's to bring back unasked */
	prefetch_left = 0;
	finish_addr = 0;
	/* shared with the parent until written: useless to UFFDIO_MOVE */
	stage_reset();
}

int restore_poll(void)
{
	int handled = 0;

	/* faults read while the agent could not serve them (restore_settle) */
	if (faultq_len(&deferred)) {
		handled = faultq_len(&deferred);
		restore_replay();
	}
	handled += read_messages(0);
	faultq_drain(&retry, serve_queued, NULL);
	return handled;
}
