/* SPDX-License-Identifier: MIT */
/*
 * The inactive list (see inactive.h).  Each block on it sits whole in a
 * 2 MB slot of ours, registered like eviction staging (write-protect
 * mode on the staging uffd: UFFDIO_MOVE wants its destination registered
 * on the uffd doing the move, and touching a hole never faults to us);
 * its range in the application stays registered on the main uffd, so
 * that the first touch faults to us.  Only the agent thread changes the
 * list; application threads read its bounds (inactive_may_hold).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "blocks.h"
#include "coredump.h"
#include "evict.h"
#include "events.h"
#include "inactive.h"
#include "latency.h"
#include "log.h"
#include "protocol.h"
#include "recent.h"
#include "robust.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "util.h"

#define E_WAS_THP 0x1
#define E_BACK 0x2 /* put it back on the next turn (robust.c read it) */

struct entry {
	uint64_t addr;	     /* 0: the slot is free */
	uint64_t pages[UZ_PAGES_PER_BLOCK / 64]; /* present in the slot */
	uint32_t taken_ms, due_ms; /* now_ms(): wraps, compared by difference */
	uint32_t flags;
};

static struct entry list[UZ_INACTIVE_MAX];
_Static_assert((uint64_t)UZ_INACTIVE_MAX * UZ_BLOCK_SIZE == UZ_INACTIVE_MAX_BYTES,
	       "the daemon's bound on a client's inactive bytes");
static uint8_t *slots; /* UZ_INACTIVE_MAX x 2 MB, mapped on first use */
/* how many, for application threads too (inactive_may_hold) */
static struct addr_hint hint = ADDR_HINT_INIT;

static uint8_t *slot_of(const struct entry *e)
{
	return slots + (uint64_t)(e - list) * UZ_BLOCK_SIZE;
}

static struct entry *find(uint64_t blk)
{
	unsigned i;

	if (!hint.count)
		return NULL;
	for (i = 0; i < UZ_INACTIVE_MAX; i++)
		if (list[i].addr == blk)
			return &list[i];
	return NULL;
}

static unsigned pages_in(const struct entry *e)
{
	unsigned i, n = 0;

	for (i = 0; i < UZ_PAGES_PER_BLOCK / 64; i++)
		n += __builtin_popcountll(e->pages[i]);
	return n;
}

/* Off the list (its slot is emptied by whoever moved the block on). */
static void forget(struct entry *e)
{
	stat_add(&uz_agent.stats->inactive_bytes,
		 -(int64_t)pages_in(e) * UZ_PAGE_SIZE);
	memset(e, 0, sizeof(*e));
	addr_hint_set(&hint, hint.count - 1);
}

/* A fresh, empty slot, as eviction staging is made */
static int slot_fresh(uint8_t *p)
{
	int err = stage_block_remap(p);

	if (err)
		return err;
	madvise(p, UZ_BLOCK_SIZE, MADV_DONTDUMP);
	return stage_block_ready(p);
}

/* The block at @addr, refused whole (EBUSY) and unregistered again:
 * taken once more if it is ours alone again (evict_regain_own) */
static __thread int taking_again;

static int take_again(uint64_t addr, int huge, uint32_t min_age_ms,
		      uint64_t *bytes)
{
	int ret;

	if (taking_again || !evict_regain_own(addr, huge))
		return 0;
	taking_again = 1;
	ret = inactive_take(addr, min_age_ms, bytes);
	taking_again = 0;
	return ret;
}

int inactive_take(uint64_t addr, uint32_t min_age_ms, uint64_t *bytes)
{
	struct page_presence pp;
	struct entry *e = NULL;
	uint64_t done;
	unsigned i, busy;
	int err;

	*bytes = 0;
	if (blocks_find(addr) || find(addr))
		return 0;
	for (i = 0; i < UZ_INACTIVE_MAX && !e; i++)
		if (!list[i].addr)
			e = &list[i];
	if (!e)
		return -ENOSPC;
	if (!slots) {
		/* only in the agent's range: placed by the kernel now, they
		 * could land in a hole the program will fill again; without
		 * them, blocks are compressed at once (-ENOSPC) */
		slots = map_optional((size_t)UZ_INACTIVE_MAX * UZ_BLOCK_SIZE,
				     UZ_BLOCK_SIZE, 1);
		if (!slots) {
			log_limited(UZ_LOG_WARN, 1, 3600, "no room for the "
				    "inactive list in the agent's range (an "
				    "address-space limit?): blocks are "
				    "compressed at once");
			return -ENOSPC;
		}
		/* a forked child has holes here, not copies to give back */
		map_dontfork(slots, (size_t)UZ_INACTIVE_MAX * UZ_BLOCK_SIZE);
	}
	err = pagemap_block(addr, &pp);
	if (err || !pp.count)
		return err;
	err = slot_fresh(slot_of(e));
	if (err)
		return err;
	munlock(slot_of(e), UZ_BLOCK_SIZE);
	/* from here on, a touch of the block faults to us */
	err = uffd_register(uz_agent.uffd, addr, UZ_BLOCK_SIZE,
			    UFFDIO_REGISTER_MODE_MISSING);
	if (err)
		return err;
	err = uffd_move_around(uz_agent.stage_uffd, (uint64_t)slot_of(e), addr,
			       UZ_BLOCK_SIZE, -EBUSY, pp.huge, &busy, &done);
	if ((err == -EBUSY || busy) && !taking_again) /* once a block */
		stat_add(&uz_agent.stats->evict_busy, 1);
	if (err == -EBUSY) {
		uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
		return take_again(addr, pp.huge, min_age_ms, bytes);
	}
	{
		int huge = pp.huge;

		if (!err)
			err = pagemap_block((uint64_t)slot_of(e), &pp);
		if (!err && robust_in_block(addr) > 0) {
			/* the kernel must be able to read it at thread exit */
			stat_add(&uz_agent.stats->evict_busy, 1);
			err = -EBUSY;
		}
		if (err || !pp.count) {
			if (err)
				evict_put_back(addr, slot_of(e));
			uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
			/* every page stayed where it was (busy) */
			return err ? err : take_again(addr, huge, min_age_ms, bytes);
		}
		e->flags = huge ? E_WAS_THP : 0;
	}
	e->addr = addr;
	memcpy(e->pages, pp.bits, sizeof(e->pages));
	e->taken_ms = now_ms();
	e->due_ms = e->taken_ms + min_age_ms;
	addr_hint_add(&hint, addr);
	stat_add(&uz_agent.stats->inactive_bytes, (int64_t)pp.count * UZ_PAGE_SIZE);
	stat_add(&uz_agent.stats->inactive_taken, 1);
	*bytes = (uint64_t)pp.count * UZ_PAGE_SIZE;
	return 1;
}

int inactive_has(uint64_t blk)
{
	return find(blk) != NULL;
}

int inactive_may_hold(uint64_t start, uint64_t len)
{
	return addr_hint_may_hold(&hint, start, len);
}

/* Back into the application whole: one UFFDIO_MOVE (a THP stays one),
 * copied instead where the VMA no longer matches ours. */
static int put_back(struct entry *e)
{
	uint64_t addr = e->addr;
	uint8_t *slot = slot_of(e);
	int err;

	/* off the list first: events read meanwhile go to the watch */
	forget(e);
	err = evict_put_back(addr, slot);
	if (err)
		return err;
	uffd_unregister(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
	/* a move in pieces, or a copy, may leave a faulting thread asleep */
	uffd_wake(uz_agent.uffd, addr, UZ_BLOCK_SIZE);
	return 0;
}

int inactive_fault(uint64_t blk)
{
	struct entry *e = find(blk);
	uint32_t now = now_ms();
	int err;

	if (!e)
		return 0;
	/* a refault, if a cheap one: the automatic loop backs off when
	 * what it takes comes back, and its guard keeps the block a while */
	latency_add(uz_agent.stats->refault_age_ms, now - e->taken_ms);
	recent_note(blk, now);
	err = put_back(e);
	if (err)
		return err;
	stat_add(&uz_agent.stats->inactive_back, 1);
	return 1;
}

static int overlaps(const struct entry *e, uint64_t start, uint64_t end)
{
	return e->addr && e->addr < end && e->addr + UZ_BLOCK_SIZE > start;
}

void inactive_put_back(uint64_t start, uint64_t end)
{
	unsigned i;

	for (i = 0; i < UZ_INACTIVE_MAX && hint.count; i++) {
		uint64_t t0 = 0;

		if (!overlaps(&list[i], start, end))
			continue;
		/* pages of it an mremap moved wait in copy tasks: copied to
		 * their new place first.  Put back at the old address with
		 * the rest of the slot, they were lost (the task found the
		 * block gone): a fork() put the whole list back after a raw
		 * mremap read while the forking thread's stack came back,
		 * past restore_range's first wait (it_stress --auto, 173
		 * pages of zeros) */
		events_pending_wait(list[i].addr, &t0, "putting a block back");
		/* events read meanwhile may have dropped or moved it */
		if (overlaps(&list[i], start, end))
			put_back(&list[i]);
	}
}

void inactive_drop(uint64_t blk, uint64_t s, uint64_t e)
{
	struct entry *en = find(blk);
	uint64_t a;

	if (!en)
		return;
	for (a = s & ~(uint64_t)(UZ_PAGE_SIZE - 1); a < e; a += UZ_PAGE_SIZE) {
		unsigned p = (unsigned)((a - blk) / UZ_PAGE_SIZE);

		if (!(en->pages[p / 64] & (1ull << (p % 64))))
			continue;
		mem_zap(slot_of(en) + (a - blk), UZ_PAGE_SIZE);
		en->pages[p / 64] &= ~(1ull << (p % 64));
		stat_add(&uz_agent.stats->inactive_bytes, -(int64_t)UZ_PAGE_SIZE);
		stat_add(&uz_agent.stats->dropped_bytes, UZ_PAGE_SIZE);
	}
	if (!pages_in(en)) {
		/* nothing left: faults there are the kernel's again */
		mem_zap(slot_of(en), UZ_BLOCK_SIZE);
		forget(en);
		events_unregister_block(blk);
	}
}

void inactive_discard(uint64_t blk)
{
	struct entry *e = find(blk);

	if (!e)
		return;
	stat_add(&uz_agent.stats->dropped_bytes,
		 (int64_t)pages_in(e) * UZ_PAGE_SIZE);
	mem_zap(slot_of(e), UZ_BLOCK_SIZE);
	forget(e);
}

void inactive_rekey(uint64_t blk, uint64_t to)
{
	struct entry *e = find(blk);

	if (!e)
		return;
	e->addr = to;
	addr_hint_note(&hint, to);
}

int inactive_copy_moved(uint64_t blk, uint64_t s, uint64_t e, int64_t delta)
{
	struct entry *en = find(blk);

	if (!en)
		return 0;
	/* holes copy as zeros, which is what they read as */
	return uffd_fill_range(uz_agent.uffd, uffd_op_copy, s + delta,
			       slot_of(en) + (s - blk), e - s);
}

uint64_t inactive_read_addr(uint64_t addr)
{
	struct entry *e = find(block_of(addr));

	if (!e)
		return addr;
	e->flags |= E_BACK;
	return (uint64_t)slot_of(e) + (addr - e->addr);
}

/* Compress @e into the arena as an ordinary eviction. */
static int compress(struct entry *e, uint64_t *bytes, uint64_t *stored)
{
	uint64_t addr = e->addr;
	int huge = e->flags & E_WAS_THP, ret;

	forget(e);
	ret = evict_from_slot(addr, slot_of(e), huge, bytes, stored);
	if (ret > 0) {
		struct block *b = blocks_find(addr);

		/* its first touch brings it back whole (refill.c) */
		if (b)
			b->flags |= UZ_BLK_SAMPLED;
		stat_add(&uz_agent.stats->inactive_stored, 1);
	} else if (ret < 0) {
		log_limited(UZ_LOG_INFO, 3, 60, "block %#lx: not compressed "
			    "(%s); put back", (unsigned long)addr, strerror(-ret));
	}
	return ret;
}

int inactive_compress(uint64_t blk, uint64_t *bytes, uint64_t *stored)
{
	struct entry *e = find(blk);

	*bytes = *stored = 0;
	return e ? compress(e, bytes, stored) : 0;
}

int inactive_tick(void)
{
	uint32_t now;
	unsigned i;
	int did = 0;

	if (!hint.count || uz_agent.frozen ||
	    __atomic_load_n(&uz_agent.fork_pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&uz_agent.evict_hold, __ATOMIC_SEQ_CST) ||
	    coredump_pending())
		return 0;
	now = now_ms();
	for (i = 0; i < UZ_INACTIVE_MAX && hint.count; i++) {
		struct entry *e = &list[i];

		/* pages of it in a copy task go first (inactive_put_back);
		 * the tick does not wait for them */
		if (!e->addr || events_block_in_task(e->addr))
			continue;
		if (e->flags & E_BACK) {
			put_back(e);
			did = 1;
		} else if ((int32_t)(now - e->due_ms) >= 0) {
			uint64_t bytes, stored;

			compress(e, &bytes, &stored);
			did = 1;
		}
	}
	return did;
}

void inactive_each(void (*fn)(uint64_t, const uint8_t *, void *), void *arg)
{
	unsigned i;

	for (i = 0; i < UZ_INACTIVE_MAX && hint.count; i++)
		if (list[i].addr)
			fn(list[i].addr, slot_of(&list[i]), arg);
}

unsigned inactive_count(void)
{
	return hint.count;
}

void inactive_free(int in_child)
{
	unsigned i;

	/* (a child's copy of the list is its parent's to count) */
	for (i = 0; i < UZ_INACTIVE_MAX && !in_child; i++)
		if (list[i].addr)
			forget(&list[i]);
	memset(list, 0, sizeof(list));
	addr_hint_set(&hint, 0);
	if (in_child)
		map_forget(slots, (size_t)UZ_INACTIVE_MAX * UZ_BLOCK_SIZE);
	else
		map_release(slots, (size_t)UZ_INACTIVE_MAX * UZ_BLOCK_SIZE);
	slots = NULL;
}
