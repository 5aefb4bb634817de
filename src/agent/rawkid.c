/* SPDX-License-Identifier: MIT */
/*
 * Children made by a raw clone(): no fork() of the C library, so none of
 * our atfork hooks ran and the child has no agent of its own, yet its
 * copy of every evicted page is missing (it is registered on a
 * userfaultfd the kernel hands us in a FORK event).  We fill every page
 * it is missing from the stored records, its faults first, then let its
 * userfaultfd go: from then on it is an ordinary process with all of
 * its memory.  Closing that descriptor instead, as we used to, made the
 * child read zeros where its data was.
 *
 * What the child misses is taken from the table as we read the FORK
 * event: from the copy until the event is read the kernel refuses every
 * UFFDIO_COPY and UFFDIO_MOVE into this process (EAGAIN, the parent
 * context's mmap_changing), so no restore came in between; events read
 * in the same batch are acted on in order up to the FORK, before the
 * faults (restore.c); copies an mremap left pending move with it.  What
 * is left open: a page the parent touched for the first time and that
 * an eviction took, both in the microseconds between the copy and our
 * read of the event, reaches the child as the parent's bytes where it
 * had none (eviction moves go through the staging context, which the
 * fork does not mark).
 *
 * Each child takes a holder slot, so that the records it needs outlive
 * the parent's restores, and is filled a slice at a time from the main
 * loop: the parent's faults are served in between.  Without a free slot
 * it is filled at once (the parent's faults wait).  Children a child
 * makes join the queue; nothing here recurses, and nothing waits for a
 * child: a stopped or slow one is filled all the same.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocks.h"
#include "events.h"
#include "evict.h"
#include "fds.h"
#include "log.h"
#include "inactive.h"
#include "rawkid.h"
#include "restore.h"
#include "store.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "util.h"

#define ALL_PAGES ((uint16_t)((1u << UZ_PAGES_PER_FRAME) - 1))

/* One stored frame the child still misses: page p of it belongs at
 * base + p pages in the child (its mremap()s move it), bit p of want. */
struct piece {
	uint64_t base;
	uint32_t rec;
	uint16_t frame;
	uint16_t want;
};

struct kid {
	int ufd;
	int slot;   /* holder slot keeping its records, -1: none */
	int gone;   /* its memory is gone (exit, exec), or no memory here */
	int sorted; /* pcs in order of base */
	struct piece *pcs;
	uint32_t n, cap, next;
	/* 2 MB ranges registered in the child, unregistered when it is
	 * filled: closing our descriptor is not enough, a later raw
	 * clone's copy of our descriptor table holds its uffd too, and a
	 * missing page (never written, dropped) would wait for ever */
	uint64_t *regs;
	uint32_t n_regs, cap_regs;
};

static struct kid *kids;
static uint32_t n_kids, cap_kids;
static uint8_t *payload, *frame;
static unsigned filling_now; /* kids being filled at once, nested */

/* Room for one more of @n elements of @size at *@arr (room for *@cap,
 * doubled from @first when full), in the agent's own memory (an
 * eviction of the queue once hung the agent thread on itself): 0 or
 * -ENOMEM. */
static int grow(void **arr, size_t size, uint32_t n, uint32_t *cap,
		uint32_t first)
{
	uint32_t c = *cap ? *cap * 2 : first;
	void *grown;

	if (n < *cap)
		return 0;
	grown = map_anon((size_t)c * size, 0);
	if (!grown)
		return -ENOMEM;
	if (n)
		memcpy(grown, *arr, (size_t)n * size);
	if (*arr)
		map_release(*arr, (size_t)*cap * size);
	*arr = grown;
	*cap = c;
	return 0;
}

static void pieces_free(struct kid *k)
{
	if (k->pcs)
		map_release(k->pcs, (size_t)k->cap * sizeof(struct piece));
	k->pcs = NULL;
	k->n = k->cap = k->next = 0;
	if (k->regs)
		map_release(k->regs, (size_t)k->cap_regs * sizeof(*k->regs));
	k->regs = NULL;
	k->n_regs = k->cap_regs = 0;
}

/* Note [s, e) as registered in the child, block by block. */
static void regs_add(struct kid *k, uint64_t s, uint64_t e)
{
	uint64_t b;

	for (b = s & ~(uint64_t)(UZ_BLOCK_SIZE - 1); b < e; b += UZ_BLOCK_SIZE) {
		void *a = k->regs;

		if (grow(&a, sizeof(*k->regs), k->n_regs, &k->cap_regs, 64))
			return; /* its uffd's release unregisters the rest */
		k->regs = a;
		k->regs[k->n_regs++] = b;
	}
}

static int piece_add(struct kid *k, const struct piece *p)
{
	void *a = k->pcs;

	if (grow(&a, sizeof(*k->pcs), k->n, &k->cap, 256))
		return -ENOMEM;
	k->pcs = a;
	k->pcs[k->n++] = *p;
	k->sorted = 0;
	return 0;
}

/* In place, no allocation (qsort may call the application's malloc). */
static void sift(struct piece *a, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		struct piece t;

		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].base > a[c].base)
			c++;
		if (a[i].base >= a[c].base)
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

static void sort_pieces(struct kid *k)
{
	uint32_t i;

	for (i = k->n / 2; i-- > 0;)
		sift(k->pcs, i, k->n);
	for (i = k->n; i-- > 1;) {
		struct piece t = k->pcs[0];

		k->pcs[0] = k->pcs[i];
		k->pcs[i] = t;
		sift(k->pcs, 0, i);
	}
	k->sorted = 1;
	k->next = 0; /* the fill walks again; done pieces are skipped */
}

/* Pages of @p whose child address lies in [start, end). */
static uint16_t pages_within(const struct piece *p, uint64_t start, uint64_t end)
{
	uint64_t lo = start > p->base ? start : p->base;
	uint64_t hi = end < p->base + UZ_FRAME_SIZE ? end : p->base + UZ_FRAME_SIZE;
	unsigned first, last;

	if (lo >= hi)
		return 0;
	first = (unsigned)((lo - p->base) / UZ_PAGE_SIZE);
	last = (unsigned)((hi - p->base + UZ_PAGE_SIZE - 1) / UZ_PAGE_SIZE);
	return (uint16_t)(((1u << last) - 1) & ~((1u << first) - 1));
}

/* The piece that still wants page @page, or NULL.  Pieces that overlap
 * it start less than a frame before it. */
static struct piece *piece_for(struct kid *k, uint64_t page)
{
	uint32_t lo = 0, hi;

	if (!k->sorted)
		sort_pieces(k);
	hi = k->n;
	while (lo < hi) { /* first piece with base > page */
		uint32_t mid = lo + (hi - lo) / 2;

		if (k->pcs[mid].base > page)
			hi = mid;
		else
			lo = mid + 1;
	}
	while (lo-- > 0 && k->pcs[lo].base + UZ_FRAME_SIZE > page)
		if (pages_within(&k->pcs[lo], page, page + 1) & k->pcs[lo].want)
			return &k->pcs[lo];
	return NULL;
}

static void child_dropped(struct kid *k, uint64_t start, uint64_t end)
{
	uint32_t i;

	for (i = 0; i < k->n; i++)
		k->pcs[i].want &= (uint16_t)~pages_within(&k->pcs[i], start, end);
}

/* [from, from+len) moved to @to: what is missing there moved with it.
 * A piece cut by the range's edges becomes two. */
static void child_moved(struct kid *k, uint64_t from, uint64_t to, uint64_t len)
{
	uint32_t i, n = k->n;

	regs_add(k, to, to + len); /* the registration moved with it */
	for (i = 0; i < n; i++) {
		uint16_t in = k->pcs[i].want & pages_within(&k->pcs[i], from, from + len);
		struct piece moved = k->pcs[i];

		if (!in)
			continue;
		moved.base += to - from;
		moved.want = in;
		k->sorted = 0;
		if (in == k->pcs[i].want) {
			k->pcs[i] = moved;
		} else {
			k->pcs[i].want &= (uint16_t)~in;
			if (piece_add(k, &moved))
				log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: no "
					    "memory to follow an mremap; pages "
					    "left unfilled read as zero");
		}
	}
}

/* Put @p's wanted pages in, each run with @op. */
static int fill_runs(struct kid *k, struct piece *p, int bad)
{
	unsigned i = 0;
	int err = 0;

	while (i < UZ_PAGES_PER_FRAME && !err) {
		unsigned run = 0;

		if (!(p->want & (1u << i))) {
			i++;
			continue;
		}
		while (i + run < UZ_PAGES_PER_FRAME && p->want & (1u << (i + run)))
			run++;
		/* a frame failing its checksum is never mapped: a touch of
		 * it is a SIGBUS, not wrong bytes */
		err = uffd_fill_range(k->ufd, bad ? uffd_op_poison : uffd_op_copy,
				      p->base + (uint64_t)i * UZ_PAGE_SIZE,
				      bad ? NULL : frame + (size_t)i * UZ_PAGE_SIZE,
				      (uint64_t)run * UZ_PAGE_SIZE);
		if (!err)
			p->want &= (uint16_t)~(((1u << run) - 1) << i);
		i += run;
	}
	return err;
}

/* Fill what @p's child still wants.  0 when done with it (filled,
 * poisoned, or gone), -EAGAIN when the child has events to read first. */
static int fill_piece(struct kid *k, struct piece *p)
{
	int bad, err;

	if (!p->want)
		return 0;
	/* its own buffers: this may run in the middle of a restore */
	bad = restore_decode_into(p->rec, p->frame, payload, (uint32_t)frame_bound(),
				  frame);
	if (bad)
		log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: a frame failed "
			    "its checksum; its pages are poisoned");
	err = fill_runs(k, p, bad);
	if (err == -EAGAIN)
		return err;
	if (err == -ESRCH) {
		k->gone = 1;
	} else if (err == -EBADF) {
		/* a child sharing our descriptor table (CLONE_FILES) closed
		 * it before we had it out of the way: nothing to fill with */
		log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: its userfaultfd "
			    "was closed under us; its evicted memory reads as zero");
		k->gone = 1;
	} else if (err) {
		log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: cannot fill "
			    "%#lx: %s; poisoning it", (unsigned long)p->base,
			    strerror(-err));
		fill_runs(k, p, 1);
	}
	p->want = 0;
	return 0;
}

static struct kid *kid_new(int ufd);
static void kid_start(struct kid *k);

/* The child forked (a raw clone again): its child misses what it still
 * misses, no more, and joins the queue (which may move @k). */
static void grandchild(uint32_t ki, int ufd)
{
	struct kid *g = kid_new(ufd);
	uint32_t i;

	if (!g)
		return;
	for (i = 0; i < kids[ki].n && !g->gone; i++)
		if (kids[ki].pcs[i].want && piece_add(g, &kids[ki].pcs[i]))
			g->gone = 1;
	for (i = 0; i < kids[ki].n_regs; i++)
		regs_add(g, kids[ki].regs[i], kids[ki].regs[i] + UZ_BLOCK_SIZE);
	kid_start(g);
}

/* A fault of the child at @addr: fill what it waits for first.  EAGAIN
 * (an event of the child's first) is left to the wake: the thread faults
 * again, and a wake is never wrong. */
static void child_fault(struct kid *k, uint64_t addr)
{
	uint64_t page = addr & ~(uint64_t)(UZ_PAGE_SIZE - 1);
	struct piece *p = piece_for(k, page);

	if (p)
		fill_piece(k, p);
	else if (uffd_fill_range(k->ufd, uffd_op_zero, page, NULL,
				 UZ_PAGE_SIZE) == -ESRCH)
		k->gone = 1; /* nothing stored there: never written, or dropped */
	uffd_wake(k->ufd, page, UZ_PAGE_SIZE);
}

/* What kid @ki's uffd has, 64 messages at most (a child dropping pages
 * in a loop must not keep us from our own faults); returns how many. */
/* The child dropped or moved memory (REMOVE, UNMAP, REMAP; other
 * events are not this one's). */
static void child_changed(struct kid *k, const struct uffd_msg *m)
{
	if (m->event == UFFD_EVENT_REMOVE || m->event == UFFD_EVENT_UNMAP)
		child_dropped(k, m->arg.remove.start, m->arg.remove.end);
	else if (m->event == UFFD_EVENT_REMAP)
		child_moved(k, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
}

static int child_messages(uint32_t ki)
{
	struct uffd_msg m[16];
	ssize_t n;
	int i, got = 0;

	while (got < 64 && (n = read(kids[ki].ufd, m, sizeof(m))) > 0) {
		for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++, got++) {
			struct kid *k = &kids[ki]; /* grandchild() may move it */

			if (m[i].event == UFFD_EVENT_PAGEFAULT)
				child_fault(k, m[i].arg.pagefault.address);
			else if (m[i].event == UFFD_EVENT_FORK)
				grandchild(ki, (int)m[i].arg.fork.ufd);
			else
				child_changed(k, &m[i]);
		}
	}
	return got;
}

static void kid_end(uint32_t ki)
{
	struct kid *k = &kids[ki];
	uint32_t i;

	for (i = 0; i < k->n_regs && !k->gone; i++)
		if (uffd_unregister(k->ufd, k->regs[i], UZ_BLOCK_SIZE) == -ESRCH)
			break;
	fd_close(k->ufd);
	pieces_free(k);
	if (k->slot >= 0)
		store_slot_release((unsigned)k->slot);
	kids[ki] = kids[--n_kids];
}

/* Fill up to @budget more pieces of kid @ki; 1 when it is done. */
static int kid_step(uint32_t ki, unsigned budget)
{
	struct kid *k;

	child_messages(ki);
	k = &kids[ki];
	while (!k->gone && k->next < k->n && budget) {
		struct piece *p = &k->pcs[k->next];

		if (!p->want) {
			k->next++;
			continue;
		}
		if (fill_piece(k, p) == -EAGAIN) {
			/* the child is between an mm change and its event
			 * (it finishes by itself): once more after reading
			 * what it has, else next time */
			if (!child_messages(ki) || !budget--)
				break;
			k = &kids[ki];
			continue;
		}
		k->next++;
		budget--;
	}
	if (!k->gone && k->next < k->n)
		return 0;
	/* faults read while the last pieces went in */
	if (!k->gone)
		child_messages(ki);
	return 1;
}

static struct kid *kid_new(int ufd)
{
	struct kid *k;

	if (!payload) {
		payload = map_anon(frame_bound(), 0);
		frame = map_anon(UZ_FRAME_SIZE, 0);
	}
	{
		void *a = kids;

		if (!grow(&a, sizeof(*kids), n_kids, &cap_kids, 8))
			kids = a;
	}
	if (n_kids == cap_kids || !payload || !frame) {
		log_err("raw-clone child: no memory to fill it; its evicted "
			"memory reads as zero");
		close(ufd);
		return NULL;
	}
	k = &kids[n_kids++];
	memset(k, 0, sizeof(*k));
	k->ufd = fd_hide(ufd);
	k->slot = -1;
	return k;
}

/* @k has its pieces: hold their records, or fill it now. */
static void kid_start(struct kid *k)
{
	uint32_t i, ki = (uint32_t)(k - kids);

	if (k->gone) {
		log_err("raw-clone child: no memory for its table; its evicted "
			"memory reads as zero");
		kid_end(ki);
		return;
	}
	k->slot = store_slot_alloc(UINT32_MAX);
	if (k->slot >= 0) {
		for (i = 0; i < k->n; i++)
			store_hold(k->pcs[i].rec, (unsigned)k->slot);
		return;
	}
	/* no slot: the records must not go before it has them; a child of
	 * a child filled that way nests, so only a few levels deep */
	if (filling_now >= 4) {
		log_err("raw-clone child: no holder slot for a child's child "
			"%u levels down; its evicted memory reads as zero",
			filling_now);
		kid_end(ki);
		return;
	}
	log_limited(UZ_LOG_WARN, 3, 60, "raw-clone child: every holder slot "
		    "taken; filling it before anything else");
	filling_now++;
	while (!kid_step(ki, UINT32_MAX))
		nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	filling_now--;
	kid_end(ki);
}

static int take_block(struct block *b, struct kid *k)
{
	const struct uz_block_rec *r = store_rec(b->rec);
	unsigned f;

	for (f = 0; f < UZ_FRAMES_PER_BLOCK; f++) {
		unsigned first = f * UZ_PAGES_PER_FRAME;
		struct piece p = { b->addr + (uint64_t)f * UZ_FRAME_SIZE, b->rec,
				   (uint16_t)f, ALL_PAGES };

		/* a ZERO frame needs nothing: a missing page reads as zero
		 * once the child is on its own */
		if (!(b->stored & (1u << f)) || r->frames[f].kind == UZ_FRAME_ZERO)
			continue;
		p.want &= (uint16_t)~(b->zeroed[first / 64] >> (first % 64));
		if (p.want && piece_add(k, &p))
			return -ENOMEM;
	}
	return 0;
}

static void take_each(struct block *b, void *arg)
{
	struct kid *k = arg;

	regs_add(k, b->addr, b->addr + UZ_BLOCK_SIZE);
	if (!k->gone && take_block(b, k))
		k->gone = 1;
}

static void take_moved(uint64_t from, uint64_t to, int64_t delta, void *arg)
{
	/* child_moved notes the registration at the new place */
	child_moved(arg, from, from + (uint64_t)delta, to - from);
}

/* A whole block the child was copied without, held at @src: copied
 * into it at once. */
static void take_held(uint32_t ki, uint64_t addr, const uint8_t *src)
{
	int err;

	while ((err = uffd_fill_range(kids[ki].ufd, uffd_op_copy, addr, src,
				      UZ_BLOCK_SIZE)) == -EAGAIN)
		if (!child_messages(ki))
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	if (err && err != -ESRCH)
		log_err("raw-clone child: the block held at %#lx did not go "
			"in: %s", (unsigned long)addr, strerror(-err));
}

/* A block being put back (from eviction staging or an inactive slot)
 * when the event came: the child was copied without it. */
static void take_staged(uint32_t ki)
{
	const uint8_t *src;
	uint64_t addr = evict_putting_back(&src);

	if (addr)
		take_held(ki, addr, src);
}

/* A block on the inactive list, uncompressed in its slot (@arg: the
 * kid's index, as kids may move) */
static void take_inactive(uint64_t addr, const uint8_t *slot, void *arg)
{
	uint32_t ki = *(const uint32_t *)arg;

	regs_add(&kids[ki], addr, addr + UZ_BLOCK_SIZE);
	take_held(ki, addr, slot);
}

static void adopt(int ufd, int from_snapshot, const struct uffd_msg *seen,
		  unsigned n_seen)
{
	struct kid *k = kid_new(ufd);
	uint32_t ki;
	unsigned i;

	if (!k)
		return;
	ki = (uint32_t)(k - kids);
	if (from_snapshot)
		blocks_snapshot_each(take_each, k);
	else
		blocks_for_each(take_each, k);
	events_tasks_each(take_moved, k);
	/* what the child did before we took it, read by someone else */
	for (i = 0; i < n_seen; i++)
		child_changed(k, &seen[i]);
	log_info("a child made without fork() (raw clone): filling its %u "
		 "evicted frames", k->n);
	take_staged(ki); /* may queue its children: kids may move */
	inactive_each(take_inactive, &ki);
	kid_start(&kids[ki]);
}

void rawkid_adopt(int ufd, int from_snapshot)
{
	adopt(ufd, from_snapshot, NULL, 0);
}

void rawkid_adopt_forked(int ufd, const struct uffd_msg *seen, unsigned n_seen)
{
	adopt(ufd, 1, seen, n_seen);
}

void rawkid_forget(void)
{
	uint32_t i;

	/* the parent's: their descriptors are in its agent thread's
	 * table, their slots and records the parent's to let go */
	for (i = 0; i < n_kids; i++)
		pieces_free(&kids[i]);
	n_kids = 0;
	filling_now = 0;
}

void rawkid_drain(void)
{
	uint32_t last_n = 0, last_next = 0;
	uint64_t since = now_ns();

	while (n_kids) {
		rawkid_step(UINT32_MAX);
		if (!n_kids)
			break;
		if (n_kids != last_n || kids[0].next != last_next) {
			last_n = n_kids;
			last_next = kids[0].next;
			since = now_ns();
		} else if (now_ns() - since > 20000000000ull) {
			/* a child whose events never come (a descriptor the
			 * kernel could not hand us) must not keep its parent
			 * from ending */
			log_err("raw-clone child: no progress for 20 s while "
				"this process ends; %u left unfilled", n_kids);
			break;
		}
		nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
}

int rawkid_busy(void)
{
	return n_kids > 0;
}

int rawkid_pollfds(struct pollfd *p, int max)
{
	uint32_t i;

	for (i = 0; i < n_kids && (int)i < max; i++) {
		p[i].fd = kids[i].ufd;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	return (int)i;
}

void rawkid_step(unsigned frames)
{
	uint32_t i;

	/* every child's faults; the oldest child's fill */
	for (i = 1; i < n_kids; i++)
		child_messages(i);
	if (n_kids && kid_step(0, frames))
		kid_end(0);
}
