/* SPDX-License-Identifier: MIT */
/* Non-cooperative userfaultfd events: remove, unmap, remap. */
#include <errno.h>
#include <unistd.h>
#include <string.h>

#include "advising.h"
#include "blocks.h"
#include "events.h"
#include "inactive.h"
#include "rawkid.h"
#include "log.h"
#include "madvcalls.h"
#include "restore.h"
#include "uffd.h"
#include "util.h"
#include "zapwait.h"

static uint8_t frame_tmp[UZ_FRAME_SIZE] __attribute__((aligned(4096)));

/*
 * An unaligned mremap's stored pages still to be copied to their new
 * home.  Copying right after reading the REMAP event often fails with
 * EAGAIN (the kernel counts the mremap as in progress until its thread
 * wakes up), so the copy waits here, and a fault in the new range runs
 * it first.
 */
struct remap_task {
	uint64_t blk, from, to; /* old block, and the part of it that moved */
	int64_t delta;
};
/* a full list must never make us wait (only this thread can read the
 * event the kernel's EAGAIN waits on): room for more copies than any
 * program has mremaps in flight, touched as used.  Mapped when the agent
 * starts, not on first use: that was right after an mremap, and the
 * kernel put it in the hole the move had just left, where the program
 * then moved memory back with MREMAP_FIXED (its own range to it),
 * replacing our list with its evicted pages: the agent's next look at
 * the list faulted on its own userfaultfd, and both waited for good
 * (review probe p_rev unmap; it_remaptwice's back_onto_source) */
#define TASKS_MAX 65536
static struct remap_task *tasks;
static unsigned n_tasks;

/* the block being put back (not in the table: see events_watch): how
 * far each of its pages moved with the application's mremaps meanwhile
 * (two raw moves in a row too: that page is where both took it), and
 * which of them the application dropped where they are now */
static uint64_t watch_blk;
static int64_t watch_delta[UZ_PAGES_PER_BLOCK];
static int watch_moved_any;
static uint64_t watch_dropped[UZ_PAGES_PER_BLOCK / 64];

static uint64_t watch_page_now(unsigned p)
{
	return watch_blk + (uint64_t)p * UZ_PAGE_SIZE + watch_delta[p];
}

/* Watched pages now in [s, e) moved by @delta (an mremap), or were
 * dropped there (@delta 0: MADV_DONTNEED, munmap).  The UNMAP of an
 * mremap's old range finds the pages it moved gone from there. */
static void watch_follow(uint64_t s, uint64_t e, int64_t delta)
{
	unsigned p;

	for (p = 0; p < UZ_PAGES_PER_BLOCK; p++) {
		uint64_t a = watch_page_now(p);

		if (a < s || a >= e)
			continue;
		if (delta) {
			watch_delta[p] += delta;
			watch_moved_any = 1;
		} else {
			watch_dropped[p / 64] |= 1ull << (p % 64);
		}
	}
}

/* Is a watched page now in [s, e)?  Its range stays registered: it
 * goes back there with UFFDIO_COPY. */
static int watch_in(uint64_t s, uint64_t e)
{
	unsigned p;

	if (!watch_blk)
		return 0;
	for (p = 0; p < UZ_PAGES_PER_BLOCK; p++)
		if (watch_page_now(p) >= s && watch_page_now(p) < e)
			return 1;
	return 0;
}

/* Is page @a waiting in a remap task?  It belongs to its new home. */
static int page_in_task(uint64_t a)
{
	unsigned i;

	for (i = 0; i < n_tasks; i++)
		if (a >= tasks[i].from && a < tasks[i].to)
			return 1;
	return 0;
}

/* Call @fn on each run of pages of [from, to) (in block @blk) that no
 * remap task holds: those are still at their address. */
static void each_run_not_in_task(uint64_t blk, uint64_t from, uint64_t to,
				 void (*fn)(uint64_t blk, uint64_t s,
					    uint64_t e, int64_t arg),
				 int64_t arg)
{
	uint64_t a, run = from;

	if (!n_tasks) {
		fn(blk, from, to, arg);
		return;
	}
	for (a = from; a < to; a += UZ_PAGE_SIZE)
		if (page_in_task(a)) {
			if (run < a)
				fn(blk, run, a, arg);
			run = a + UZ_PAGE_SIZE;
		}
	if (run < to)
		fn(blk, run, to, arg);
}

static void inactive_drop_run(uint64_t blk, uint64_t s, uint64_t e, int64_t unused)
{
	(void)unused;
	inactive_drop(blk, s, e);
}

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

		if (!b) {
			/* but for pages still on their way to a new range */
			if (inactive_has(blk))
				each_run_not_in_task(blk, from, to,
						     inactive_drop_run, 0);
			continue;
		}
		for (p = (from - blk) / UZ_PAGE_SIZE;
		     p < (to - blk + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE; p++) {
			/* the UNMAP that follows an mremap must not take
			 * pages still on their way to the new range */
			if (n_tasks && page_in_task(blk + (uint64_t)p * UZ_PAGE_SIZE))
				continue;
			b->zeroed[p / 64] |= 1ull << (p % 64);
		}
		/* a frame all of whose pages are gone is forgotten, also
		 * when they went in parts (the two halves of a split remap
		 * task): else it stays stored for ever, and the block with
		 * it, which keeps the next mapping there from eviction */
		for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
			uint64_t fs = blk + (uint64_t)f * UZ_FRAME_SIZE;

			if (fs < to && fs + UZ_FRAME_SIZE > from &&
			    (b->stored & (1u << f)) &&
			    block_frame_all_zeroed(b, f)) {
				stat_add(&uz_agent.stats->dropped_bytes, UZ_FRAME_SIZE);
				if (restore_frame_done(b, f))
					break; /* b is gone */
			}
		}
	}
}

/* Put the stored pages of [s, e) of block @b at their new home, @delta
 * away, page by page: the remap does not keep 2 MB alignment. */
static int copy_moved_pages(struct block *b, uint64_t s, uint64_t e,
			    int64_t delta)
{
	unsigned f;
	int err;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		uint64_t fs = b->addr + (uint64_t)f * UZ_FRAME_SIZE;
		uint64_t from = s > fs ? s : fs;
		uint64_t to = e < fs + UZ_FRAME_SIZE ? e : fs + UZ_FRAME_SIZE;
		int bad;

		if (from >= to || !(b->stored & (1u << f)))
			continue;
		bad = restore_decode(b, f, frame_tmp);
		err = uffd_fill_range(uz_agent.uffd,
				      bad ? uffd_op_poison : uffd_op_copy,
				      from + delta, frame_tmp + (from - fs), to - from);
		if (err)
			return err;
	}
	return 0;
}

/* Copy task @t; on success the old pages are forgotten. */
static int task_run(const struct remap_task *t)
{
	struct block *b = blocks_find(t->blk);
	int err;

	if (b)
		err = copy_moved_pages(b, t->from, t->to, t->delta);
	else if (inactive_has(t->blk))
		err = inactive_copy_moved(t->blk, t->from, t->to, t->delta);
	else
		return 0;
	log_debug("remap copy %#lx..%#lx by %ld: %d", (unsigned long)t->from,
		  (unsigned long)t->to, (long)t->delta, err);
	if (err == -EAGAIN)
		return err;
	if (err)
		log_err("mremap: stored pages of %#lx not copied: %s",
			(unsigned long)t->blk, strerror(-err));
	return 0;
}

/* Will a task copy stored pages into [s, e)?  That range must stay
 * registered until it has: UFFDIO_COPY goes only where we registered. */
int events_task_dest_in(uint64_t s, uint64_t e)
{
	unsigned i;

	for (i = 0; i < n_tasks; i++)
		if (tasks[i].from < tasks[i].to && /* not emptied */
		    tasks[i].from + tasks[i].delta < e &&
		    tasks[i].to + tasks[i].delta > s)
			return 1;
	return 0;
}

void events_unregister_block(uint64_t blk)
{
	/* a block being put back (a retake that failed, retake.c) keeps
	 * its range until the put-back is done: the moves need it, and
	 * the one putting it back unregisters it then */
	if (blk != watch_blk && !events_task_dest_in(blk, blk + UZ_BLOCK_SIZE))
		uffd_unregister(uz_agent.uffd, blk, UZ_BLOCK_SIZE);
}

/* Unregister [s, s+len) where no block of ours is: a registration
 * that moved with a VMA (mremap) after its block was released or
 * copied page by page. */
static void unregister_unowned(uint64_t s, uint64_t len)
{
	uint64_t e = s + len, blk;

	for (blk = block_of(s); blk < e; blk += UZ_BLOCK_SIZE) {
		uint64_t from = s > blk ? s : blk;
		uint64_t to = e < blk + UZ_BLOCK_SIZE ? e : blk + UZ_BLOCK_SIZE;

		/* nor where the block being put back is, or its pages */
		if (blk != watch_blk && !blocks_find(blk) && !inactive_has(blk) &&
		    !events_task_dest_in(from, to) && !watch_in(from, to))
			uffd_unregister(uz_agent.uffd, from, to - from);
	}
}

void events_unregister_restored(uint64_t s, uint64_t len)
{
	uint64_t e = s + len, one;

	if (!len || e < s)
		return;
	if (!blocks_collect(s, e, &one, 1) && !inactive_may_hold(s, len) &&
	    !events_task_dest_in(s, e) && !watch_in(s, e) &&
	    !(watch_blk >= block_of(s) && watch_blk < e) &&
	    !uffd_unregister(uz_agent.uffd, s, len))
		return;
	/* something of ours is still there, or a VMA we cannot
	 * unregister: block by block */
	unregister_unowned(s, len);
}

/* unregister_unowned over the whole 2 MB blocks around [s, e): what
 * a task left (dropped parts, or its own) goes when the block's last
 * task is done, not before: unregistering part of a VMA splits it, and
 * the application's next mremap of the range would fail (EFAULT). */
static void unregister_unowned_blocks(uint64_t s, uint64_t e)
{
	uint64_t from = block_of(s), to = block_of(e - 1) + UZ_BLOCK_SIZE;

	unregister_unowned(from, to - from);
}

/* The pages of block @blk there now (present, or swapped by the kernel)
 * into @bits; non-zero when pagemap cannot say. */
static int block_pages(uint64_t blk, uint64_t *bits)
{
	struct page_presence pp;

	if (pagemap_block(blk, &pp))
		return 1;
	memcpy(bits, pp.bits, sizeof(pp.bits));
	return 0;
}

int events_init(void)
{
	zapwait_init(block_pages, madvcalls_under_way);
	if (!tasks)
		tasks = map_anon(TASKS_MAX * sizeof(*tasks), 0);
	return tasks ? 0 : -ENOMEM;
}

int events_tasks_waiting(void)
{
	return n_tasks != 0;
}

void events_tasks_each(void (*fn)(uint64_t, uint64_t, int64_t, void *), void *arg)
{
	unsigned i;

	for (i = 0; i < n_tasks; i++)
		fn(tasks[i].from, tasks[i].to, tasks[i].delta, arg);
}

/*
 * Must task @t run before block @blk's stored pages go back at @blk?
 * Its pages come from @blk: they belong elsewhere now, and a second
 * mremap may have put new memory at @blk's old place.  Or it copies
 * into the block: what it brings is the memory there now, not what
 * a block stored at that address before held (review probe p_chain
 * back2m: 13 to 392 of 1024 pages wrong).
 */
static int task_before_block(const struct remap_task *t, uint64_t blk)
{
	return t->blk == blk || (t->from + t->delta < blk + UZ_BLOCK_SIZE &&
				 t->to + t->delta > blk);
}

int events_block_in_task(uint64_t blk)
{
	unsigned i;

	for (i = 0; i < n_tasks; i++)
		if (task_before_block(&tasks[i], blk))
			return 1;
	return 0;
}

int events_pending_run(uint64_t blk)
{
	unsigned i;
	int err = 0, left = 0;

	for (i = 0; i < n_tasks;) {
		struct remap_task *t = &tasks[i];

		if (blk && !task_before_block(t, blk)) {
			i++;
			continue;
		}
		err = task_run(t);
		if (err) {
			left = err;
			i++;
			continue;
		}
		{
			uint64_t from = t->from, to = t->to;
			int64_t delta = t->delta;
			static int drop_delay_ms = -1;

			/* a test's: an mremap onto the old range lands
			 * before we let it go (keep_registered) */
			uz_test_delay("UZSWAP_TEST_TASK_DROP_DELAY_MS", &drop_delay_ms);
			tasks[i] = tasks[--n_tasks];
			/* copied: the old pages are no longer ours to keep */
			drop_range(from, to);
			/* nor is the new range, which came registered with
			 * the VMA: left so, it would split VMAs (mremap then
			 * fails) and route first touches through us */
			unregister_unowned_blocks(from + delta, to + delta);
		}
	}
	return blk ? left : (int)n_tasks;
}

void events_pending_wait(uint64_t blk, uint64_t *t0, const char *what)
{
	while (events_pending_run(blk)) {
		if (!*t0)
			*t0 = now_ns();
		restore_settle_wait(*t0, what);
	}
}

static void task_add(uint64_t blk, uint64_t from, uint64_t to, int64_t delta)
{
	struct remap_task t = { blk, from, to, delta };

	if (!tasks || n_tasks == TASKS_MAX) {
		/* nowhere to keep it: the moved pages read as zero */
		log_limited(UZ_LOG_ERR, 3, 10, "mremap of %#lx: no room to "
			    "track its stored pages that moved; they are lost",
			    (unsigned long)blk);
		return;
	}
	tasks[n_tasks++] = t;
}

/*
 * The part of each task whose destination lies in [s, e): @moved by
 * @shift (an mremap moved it again before the copy: the copy follows,
 * or it went to a range no longer mapped and its pages were lost), or
 * else dropped (unmapped or MADV_DONTNEED'd there: the pages read as
 * zero, so the stored ones go).  Parts are split off as needed; tasks
 * added here (past @n) are not looked at again.
 */
static void tasks_at_dest(uint64_t s, uint64_t e, int moved, int64_t shift)
{
	unsigned i, n = n_tasks, kept;

	for (i = 0; i < n; i++) {
		struct remap_task t = tasks[i];
		uint64_t ds = t.from + t.delta, de = t.to + t.delta;
		uint64_t lo = (ds > s ? ds : s) - t.delta;
		uint64_t hi = (de < e ? de : e) - t.delta;

		if (lo >= hi)
			continue;
		tasks[i].to = tasks[i].from; /* emptied: removed below */
		if (t.from < lo)
			task_add(t.blk, t.from, lo, t.delta);
		if (hi < t.to)
			task_add(t.blk, hi, t.to, t.delta);
		if (moved) {
			task_add(t.blk, lo, hi, t.delta + shift);
		} else {
			drop_range(lo, hi); /* not in a task now */
			/* and nothing comes there: left registered, the VMA
			 * stays split for good (mremap fails with EFAULT) */
			unregister_unowned_blocks(lo + t.delta, hi + t.delta);
		}
	}
	for (i = kept = 0; i < n_tasks; i++)
		if (tasks[i].from < tasks[i].to)
			tasks[kept++] = tasks[i];
	n_tasks = kept;
}

/*
 * MADV_DONTNEED tells us before it zaps: the thread that called it waits
 * until we read the REMOVE event, then takes the mmap lock again and
 * zaps.  An eviction that moves those pages out in between stores the
 * data the application threw away (read back later instead of zeros),
 * and nothing tells us when the zap is done.  A call made through the
 * interposed madvise() holds the blocks it covers until it returns
 * (advising.c); another (glibc's own, a raw system call) holds them
 * until its range is seen zapped (zapwait.c).  And, as before those two,
 * a block a REMOVE was read for in the last second is not evicted (it
 * is left for the next eviction).
 */
#define REMOVE_RING 256
#define REMOVE_QUIET_NS_DEFAULT 1000000000ull
static uint64_t remove_quiet_ns = REMOVE_QUIET_NS_DEFAULT;
static struct { uint64_t start, end, t; } removes[REMOVE_RING];
static unsigned remove_next;
/* when an entry still in its second was overwritten (more than
 * REMOVE_RING removes in a second: an allocator purging): until a second
 * after it, every block counts as just removed */
static uint64_t ring_overrun_t;

static void note_remove(uint64_t start, uint64_t end)
{
	unsigned i = remove_next % REMOVE_RING;
	uint64_t now = now_ns();

	if (removes[i].end && now - removes[i].t < remove_quiet_ns)
		ring_overrun_t = removes[i].t;
	removes[i].start = start;
	removes[i].end = end;
	removes[i].t = now;
	remove_next++;
}

void events_set_remove_window(uint64_t ns)
{
	remove_quiet_ns = ns;
}

int events_recently_removed(uint64_t blk)
{
	uint64_t now = now_ns();
	unsigned i;

	if (advising_over(blk, blk + UZ_BLOCK_SIZE) ||
	    zapwait_holds(blk))
		return 1;

	if (ring_overrun_t && now - ring_overrun_t < remove_quiet_ns)
		return 1;
	for (i = 0; i < REMOVE_RING; i++)
		if (removes[i].end > blk && removes[i].start < blk + UZ_BLOCK_SIZE &&
		    now - removes[i].t < remove_quiet_ns)
			return 1;
	return 0;
}

void events_watch(uint64_t blk)
{
	watch_blk = blk;
	memset(watch_dropped, 0, sizeof(watch_dropped));
	memset(watch_delta, 0, sizeof(watch_delta));
	watch_moved_any = 0;
}

int events_watch_moved_any(void)
{
	return watch_moved_any;
}

int64_t events_watch_moved(uint64_t addr)
{
	return watch_delta[(addr - watch_blk) / UZ_PAGE_SIZE];
}

int events_watch_dropped(unsigned page)
{
	return !!(watch_dropped[page / 64] & (1ull << (page % 64)));
}

/* Do pages of block @blk wait in a task?  Then the block is not all at
 * its address: those pages left it with an earlier mremap, and what is
 * mapped there now is something else.  It is neither re-keyed nor
 * dropped by a move (its tasks would find nothing: review probe p_rev
 * c3al, an aligned move after two unaligned ones, 392 pages zero). */
static int task_source(uint64_t blk)
{
	unsigned i;

	for (i = 0; i < n_tasks; i++)
		if (tasks[i].blk == blk && tasks[i].from < tasks[i].to)
			return 1;
	return 0;
}

/*
 * [s, e) holds stored pages of ours now, moved there by an mremap: it
 * must be registered, and it was, as the VMA moved with its
 * registration; but the kernel moves the VMA before it queues the
 * REMAP, and in between we may have unregistered that range for what
 * was there before (a block whose last pages an earlier mremap's task
 * had just copied away: events_unregister_block).  Unregistered, a read
 * there maps the huge zero page without asking us: whole blocks read
 * zero (it_forkfreeze, 2-3 runs in 100 under load; it_stress's
 * "zero after mremap" was likely the same).  Registering it again is
 * harmless when it still is.
 */
static void keep_registered(uint64_t s, uint64_t e)
{
	/* (page-aligned and not empty: a REMAP's range, cut at blocks) */
	int err = uffd_register(uz_agent.uffd, s, e - s, UFFDIO_REGISTER_MODE_MISSING);

	if (err)
		log_limited(UZ_LOG_WARN, 3, 60, "mremap: %#lx..%#lx not registered "
			    "again: %s", (unsigned long)s, (unsigned long)e,
			    strerror(-err));
}

/* mremap moved [from, from+len) to @to: the stored copy follows. */
static void remap(uint64_t from, uint64_t to, uint64_t len)
{
	int64_t delta = (int64_t)(to - from);
	uint64_t end = from + len, blk;

	log_debug("remap %#lx -> %#lx, %lu bytes", (unsigned long)from,
		  (unsigned long)to, (unsigned long)len);
	if (from == to)
		return;
	/* pages still to be copied here from an earlier mremap move on
	 * with it (two quick moves, as glibc's realloc makes: the copy
	 * went to the first range, gone, and the pages were lost) */
	if (n_tasks)
		tasks_at_dest(from, end, 1, delta);
	/* and so do the pages of a block being put back */
	if (watch_blk)
		watch_follow(from, end, delta);
	for (blk = block_of(from); blk < end; blk += UZ_BLOCK_SIZE) {
		struct block *b = blocks_find(blk);
		uint64_t s = from > blk ? from : blk;
		uint64_t e = end < blk + UZ_BLOCK_SIZE ? end : blk + UZ_BLOCK_SIZE;
		struct block *there;

		if (!b && !inactive_has(blk)) {
			unregister_unowned(s + delta, e - s);
			continue;
		}
		if (blk >= from && blk + UZ_BLOCK_SIZE <= end &&
		    !(delta % (int64_t)UZ_BLOCK_SIZE) && !task_source(blk) &&
		    !task_source(blk + delta)) {
			/* whole block, still aligned: just re-key it */
			there = blocks_find(blk + delta);
			if (there)
				blocks_remove(there);
			inactive_discard(blk + delta);
			if (b)
				blocks_rekey(blocks_find(blk), blk + delta);
			else
				inactive_rekey(blk, blk + delta);
			keep_registered(blk + delta, blk + delta + UZ_BLOCK_SIZE);
			continue;
		}
		/* its stored pages still here go as tasks; those already
		 * on their way elsewhere (task_source) stay in theirs */
		each_run_not_in_task(blk, s, e, task_add, delta);
		keep_registered(s + delta, e + delta);
	}
}

void events_handle(const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_REMOVE:
		note_remove(m->arg.remove.start, m->arg.remove.end);
		/* an interposed call holds its blocks until it returns; one
		 * that returned already (reading the event let it go on) is
		 * noted, and let go by the first look that finds no call
		 * under way */
		if (!advising_over(m->arg.remove.start, m->arg.remove.end))
			zapwait_note(m->arg.remove.start, m->arg.remove.end);
		/* fall through */
	case UFFD_EVENT_UNMAP:
		/* no zap can come after an unmap: what comes there later is
		 * a new mapping's */
		if (m->event == UFFD_EVENT_UNMAP)
			zapwait_forget(m->arg.remove.start, m->arg.remove.end);
		/* pages an mremap moved there, still to be copied, go too */
		if (n_tasks)
			tasks_at_dest(m->arg.remove.start, m->arg.remove.end, 0, 0);
		/* and pages of a block being put back that are there now */
		if (watch_blk)
			watch_follow(m->arg.remove.start, m->arg.remove.end, 0);
		drop_range(m->arg.remove.start, m->arg.remove.end);
		break;
	case UFFD_EVENT_REMAP:
		/* moved away: a zap still to come finds nothing there */
		zapwait_forget(m->arg.remap.from, m->arg.remap.from + m->arg.remap.len);
		remap(m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		break;
	case UFFD_EVENT_FORK:
		/* a fork that bypassed pthread_atfork (a raw clone) */
		if (uz_agent.fork_ufd >= 0 &&
		    __atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST)) {
			/* and another thread's fork() is under way, its FORK
			 * event already taken: which child is fork()'s cannot
			 * be told, so both are filled as raw ones from the
			 * snapshot (each was copied since it was made), and
			 * fork()'s child starts afresh (fork_done) */
			rawkid_adopt((int)m->arg.fork.ufd, 1);
			uz_agent.fork_ambiguous = 1;
		} else {
			rawkid_adopt((int)m->arg.fork.ufd, 0);
		}
		break;
	default:
		log_warn("unexpected userfaultfd event %u", m->event);
		break;
	}
}
