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
 * The table as we read the FORK event is the table the child was copied
 * from: from the copy until the event is read the kernel refuses every
 * UFFDIO_COPY and UFFDIO_MOVE into this process (EAGAIN, the parent
 * context's mmap_changing), so no restore came in between, and the
 * event is acted on before the faults read with it (restore.c).  What
 * is left open: a page the parent touched for the first time and that
 * an eviction took, both in the microseconds between the copy and our
 * read of the event, reaches the child as the parent's bytes where it
 * had none.
 *
 * The fill runs at once, on the agent thread, with buffers of its own
 * (it may be called in the middle of a restore): the parent's faults
 * wait for it, about a second per GB evicted.  It never waits for the
 * child: a child that is stopped or slow is filled all the same.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocks.h"
#include "evict.h"
#include "fds.h"
#include "log.h"
#include "rawkid.h"
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
	int gone; /* its memory is gone (exit, exec): stop */
	struct piece *pcs;
	uint32_t n, cap;
};

static uint8_t *payload, *frame;

static struct piece *pieces_alloc(uint32_t cap)
{
	void *p = (void *)syscall(SYS_mmap, NULL, (size_t)cap * sizeof(struct piece),
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void pieces_free(struct kid *k)
{
	if (k->pcs)
		syscall(SYS_munmap, k->pcs, (size_t)k->cap * sizeof(struct piece));
	k->pcs = NULL;
	k->n = k->cap = 0;
}

static int piece_add(struct kid *k, const struct piece *p)
{
	if (k->n == k->cap) {
		uint32_t cap = k->cap ? k->cap * 2 : 256;
		struct piece *grown = pieces_alloc(cap);

		if (!grown)
			return -ENOMEM;
		if (k->n)
			memcpy(grown, k->pcs, k->n * sizeof(*grown));
		if (k->pcs)
			syscall(SYS_munmap, k->pcs, (size_t)k->cap * sizeof(*grown));
		k->pcs = grown;
		k->cap = cap;
	}
	k->pcs[k->n++] = *p;
	return 0;
}

/* Pages of @p whose child address lies in [start, end). */
static uint16_t pages_within(const struct piece *p, uint64_t start, uint64_t end)
{
	uint16_t m = 0;
	unsigned i;

	for (i = 0; i < UZ_PAGES_PER_FRAME; i++) {
		uint64_t a = p->base + (uint64_t)i * UZ_PAGE_SIZE;

		if (a >= start && a < end)
			m |= (uint16_t)(1u << i);
	}
	return m;
}

static void child_dropped(struct kid *k, uint64_t start, uint64_t end)
{
	uint32_t i;

	for (i = 0; i < k->n; i++)
		k->pcs[i].want &= (uint16_t)~pages_within(&k->pcs[i], start, end);
}

/* The child moved [from, from+len) to @to: what it misses there moved
 * with it.  A piece cut by the range's edges becomes two. */
static void child_moved(struct kid *k, uint64_t from, uint64_t to, uint64_t len)
{
	uint32_t i, n = k->n;

	for (i = 0; i < n; i++) {
		struct piece *p = &k->pcs[i];
		uint16_t in = p->want & pages_within(p, from, from + len);
		struct piece moved = *p;

		if (!in)
			continue;
		moved.base = p->base + (to - from);
		moved.want = in;
		if (in == p->want) {
			*p = moved;
		} else if (!piece_add(k, &moved)) {
			k->pcs[i].want &= (uint16_t)~in; /* piece_add may move pcs */
		} else {
			log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: no memory "
				    "to follow its mremap; pages left unfilled");
			k->pcs[i].want &= (uint16_t)~in;
		}
	}
}

/* Record @rec's frame @f into `frame`; 0 or -EBADMSG (then never used). */
static int decode(uint32_t rec, unsigned f)
{
	const struct uz_block_rec *r = store_rec(rec);
	const struct uz_frame_desc *d = &r->frames[f];

	if (d->len > frame_bound() || store_read(r, d->off, d->len, payload))
		return -EBADMSG;
	return frame_decode(uz_agent.codec, d, payload, d->len, frame) ? -EBADMSG : 0;
}

/* Fill what @p's child still wants.  0 when done with it (filled,
 * poisoned, or gone), -EAGAIN when the child has events to read first. */
static int fill_piece(struct kid *k, struct piece *p)
{
	int bad, err = 0;
	unsigned i;

	if (!p->want)
		return 0;
	bad = decode(p->rec, p->frame);
	for (i = 0; i < UZ_PAGES_PER_FRAME && !err; i++) {
		unsigned run = 0;

		if (!(p->want & (1u << i)))
			continue;
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
	if (bad)
		log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: a frame failed "
			    "its checksum; its pages are poisoned");
	if (err == -EAGAIN)
		return err;
	if (err == -ESRCH) {
		k->gone = 1;
	} else if (err) {
		log_limited(UZ_LOG_ERR, 3, 60, "raw-clone child: cannot fill "
			    "%#lx: %s; poisoning it", (unsigned long)p->base,
			    strerror(-err));
		uffd_fill_range(k->ufd, uffd_op_poison, p->base, NULL, UZ_FRAME_SIZE);
	}
	p->want = 0;
	return 0;
}

static int fill_kid(struct kid *k);

/* The child forked (a raw clone again): its child misses what it still
 * misses, no more. */
static void grandchild(struct kid *k, int ufd)
{
	struct kid g = { .ufd = ufd };
	uint32_t i;

	for (i = 0; i < k->n; i++)
		if (k->pcs[i].want && piece_add(&g, &k->pcs[i]))
			break;
	if (i < k->n)
		log_err("raw-clone grandchild: no memory for its table; "
			"part of its memory reads as zero");
	fill_kid(&g);
}

/* A fault of the child at @addr: fill what it waits for first. */
static void child_fault(struct kid *k, uint64_t addr)
{
	uint64_t page = addr & ~(uint64_t)(UZ_PAGE_SIZE - 1);
	uint32_t i;

	for (i = 0; i < k->n; i++)
		if (pages_within(&k->pcs[i], page, page + 1) & k->pcs[i].want)
			break;
	/* EAGAIN (an event of the child's first) is left to the wake
	 * below: the thread faults again, and a wake is never wrong */
	if (i < k->n)
		fill_piece(k, &k->pcs[i]);
	else if (uffd_fill_range(k->ufd, uffd_op_zero, page, NULL,
				 UZ_PAGE_SIZE) == -ESRCH)
		k->gone = 1; /* nothing stored there: never written, or dropped */
	uffd_wake(k->ufd, page, UZ_PAGE_SIZE);
}

/* Everything the child's uffd has; returns the messages read. */
static int child_messages(struct kid *k)
{
	struct uffd_msg m[16];
	ssize_t n;
	int i, got = 0;

	while ((n = read(k->ufd, m, sizeof(m))) > 0) {
		for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++, got++) {
			switch (m[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				child_fault(k, m[i].arg.pagefault.address);
				break;
			case UFFD_EVENT_REMOVE:
			case UFFD_EVENT_UNMAP:
				child_dropped(k, m[i].arg.remove.start,
					      m[i].arg.remove.end);
				break;
			case UFFD_EVENT_REMAP:
				child_moved(k, m[i].arg.remap.from, m[i].arg.remap.to,
					    m[i].arg.remap.len);
				break;
			case UFFD_EVENT_FORK:
				grandchild(k, (int)m[i].arg.fork.ufd);
				break;
			}
		}
	}
	return got;
}

/* Fill @k whole, then let it go.  EAGAIN with nothing to read: the
 * child is between an mm change and its event; it finishes by itself. */
static int fill_kid(struct kid *k)
{
	struct timespec pause = { 0, 50000 };
	uint32_t i = 0;

	k->ufd = fd_hide(k->ufd);
	while (!k->gone && i < k->n) {
		child_messages(k);
		if (k->gone)
			break;
		if (fill_piece(k, &k->pcs[i]) != -EAGAIN)
			i++;
		else if (!child_messages(k))
			nanosleep(&pause, NULL);
	}
	/* faults read while the last pieces went in */
	if (!k->gone)
		child_messages(k);
	fd_close(k->ufd);
	pieces_free(k);
	return 0;
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

	if (!k->gone && take_block(b, k))
		k->gone = 1; /* out of memory: reported below */
}

/* A block being put back from eviction staging when the event came:
 * the child was copied without it, and staging has it. */
static void take_staged(struct kid *k)
{
	uint64_t addr = evict_putting_back();
	int err;

	if (!addr)
		return;
	while ((err = uffd_fill_range(k->ufd, uffd_op_copy, addr,
				      uz_agent.evict_stage, UZ_BLOCK_SIZE)) == -EAGAIN)
		if (!child_messages(k))
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	if (err && err != -ESRCH)
		log_err("raw-clone child: the block in staging at %#lx did not "
			"go in: %s", (unsigned long)addr, strerror(-err));
}

void rawkid_adopt(int ufd)
{
	struct kid k = { .ufd = ufd };

	if (!payload) {
		payload = map_anon(frame_bound(), 0);
		frame = map_anon(UZ_FRAME_SIZE, 0);
	}
	if (!payload || !frame) {
		k.gone = 1;
	} else {
		blocks_for_each(take_each, &k);
	}
	if (k.gone) {
		log_err("raw-clone child: no memory to fill it; its evicted "
			"memory reads as zero");
		close(ufd);
		pieces_free(&k);
		return;
	}
	log_info("a child made without fork() (raw clone): filling its %u "
		 "evicted frames", k.n);
	take_staged(&k);
	fill_kid(&k);
}
