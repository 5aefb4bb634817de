/* SPDX-License-Identifier: MIT */
/* Which of the process's memory the agent manages, and how it is used. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "fds.h"
#include "procmaps.h"
#include "regions.h"
#include "tsan.h"
#include "uzswap.h"

#define UZ_MAX_RANGES 256

struct range {
	uint64_t start, end;
	int hint;
};

/* Small fixed tables: the interposers and the agent thread share them,
 * so a spinlock, never held across a system call.  Two kinds of hint,
 * each a table, so that one does not undo the other: how warm a range
 * is (HOT, COLD: what goes first, and what never) and how it is read
 * (SEQUENTIAL, RANDOM: how much a fault brings back). */
static struct range excluded[UZ_MAX_RANGES], hinted[UZ_MAX_RANGES];
static struct range shaped[UZ_MAX_RANGES], explicit_[UZ_MAX_RANGES];
static unsigned n_excluded, n_hinted, n_shaped, n_explicit;
static int lock_word;
/* the signal mask an application thread had before it took the lock
 * (madvise() or munmap() from a handler would take it again) */
static __thread sigset_t lock_mask;

static void lock(void)
{
	spin_lock(&lock_word, &lock_mask);
}

static void unlock(void)
{
	spin_unlock(&lock_word, &lock_mask);
}

static int verdicts_valid;

void regions_reset_child(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
	procmaps_forget();
	/* a child's VMAs are not all its parent's (MADV_DONTFORK) */
	verdicts_valid = 0;
}

static int overlaps(const struct range *r, uint64_t s, uint64_t e)
{
	return r->start < e && s < r->end;
}

/* The program's madvise() advice may fill a table only this far: the
 * rest is kept for the API's hints (HOT above all). */
#define ADVICE_MAX (UZ_MAX_RANGES * 3 / 4)

/* How full @tab may get from splitting @r.  A COLD or a shape range is
 * split only while there is room for advice, and cut short beyond:
 * losing its tail loses a hint, never a byte, and munmap()s in the
 * middle of advised ranges cannot crowd out a later HOT hint. */
static unsigned split_room(const struct range *tab, const struct range *r)
{
	if ((tab == hinted || tab == shaped) && r->hint != UZSWAP_HINT_HOT)
		return ADVICE_MAX;
	return UZ_MAX_RANGES;
}

/* Remove [s, e) from every range of @tab, splitting where needed.  A
 * range that needs splitting in a full table is kept whole when
 * @keep_whole (excluded and HOT ranges: keeping the agent's memory or a
 * HOT range is the safe way to be wrong), else cut short. */
static void table_cut_as(struct range *tab, unsigned *n, uint64_t s, uint64_t e,
			 int keep_whole)
{
	unsigned i;

	for (i = 0; i < *n; i++) {
		struct range *r = &tab[i];

		if (!overlaps(r, s, e))
			continue;
		if (r->start < s && r->end > e) {
			if (*n < split_room(tab, r)) {
				tab[(*n)++] = (struct range){ e, r->end, r->hint };
				r->end = s;
			} else if (!keep_whole || split_room(tab, r) < UZ_MAX_RANGES) {
				r->end = s;
			}
		} else if (r->start < s) {
			r->end = s;
		} else if (r->end > e) {
			r->start = e;
		} else {
			tab[i--] = tab[--(*n)];
		}
	}
}

static void table_cut(struct range *tab, unsigned *n, uint64_t s, uint64_t e)
{
	/* the explicit table: cut short is unregistered, never evicted */
	table_cut_as(tab, n, s, e, tab != explicit_);
}

static int table_add(struct range *tab, unsigned *n, uint64_t s, uint64_t e,
		     int hint)
{
	table_cut(tab, n, s, e);
	if (*n == UZ_MAX_RANGES)
		return -ENOSPC;
	tab[(*n)++] = (struct range){ s, e, hint };
	return 0;
}

int regions_exclude(uint64_t start, uint64_t len)
{
	int err;

	lock();
	err = table_add(excluded, &n_excluded, start, start + len, 0);
	unlock();
	return err;
}

void regions_unexclude(uint64_t start, uint64_t len)
{
	lock();
	table_cut(excluded, &n_excluded, start, start + len);
	unlock();
}

/* ThreadSanitizer's own munmap calls (libbacktrace's, symbolizing a
 * report, with the report's locks held) come through the interposer;
 * checked, a lock it does not see taken there made a report inside the
 * report, which waited for itself.  So no checks here. */
void regions_note_unmap(uint64_t start, uint64_t len)
{
	if (!agent_process())
		return;
	tsan_unchecked_begin();
	lock();
	table_cut(hinted, &n_hinted, start, start + len);
	table_cut(shaped, &n_shaped, start, start + len);
	table_cut(explicit_, &n_explicit, start, start + len);
	unlock();
	tsan_unchecked_end();
}

int regions_register(uint64_t start, uint64_t len)
{
	int err;

	lock();
	err = table_add(explicit_, &n_explicit, start, start + len, 0);
	unlock();
	return err;
}

int regions_unregister(uint64_t start, uint64_t len)
{
	lock();
	table_cut(explicit_, &n_explicit, start, start + len);
	unlock();
	return 0;
}

static int is_shape(int hint)
{
	return hint == UZSWAP_HINT_SEQUENTIAL || hint == UZSWAP_HINT_RANDOM;
}

int regions_hint(uint64_t start, uint64_t len, int hint)
{
	int err = 0;

	lock();
	if (hint == UZSWAP_HINT_NORMAL) {
		table_cut(hinted, &n_hinted, start, start + len);
		table_cut(shaped, &n_shaped, start, start + len);
	} else if (is_shape(hint)) {
		err = table_add(shaped, &n_shaped, start, start + len, hint);
	} else {
		err = table_add(hinted, &n_hinted, start, start + len, hint);
	}
	unlock();
	return err;
}

int regions_advise(uint64_t start, uint64_t len, int hint)
{
	int err = -ENOSPC;
	unsigned i, hot = 0;

	lock();
	if (hint == UZSWAP_HINT_COLD) {
		/* never over HOT memory (MADV_WIPEONFORK's), in one step
		 * with the look: no HOT range may come in between */
		for (i = 0; i < n_hinted && !hot; i++)
			hot = hinted[i].hint == UZSWAP_HINT_HOT &&
			      overlaps(&hinted[i], start, start + len);
		if (!hot && n_hinted < ADVICE_MAX)
			err = table_add(hinted, &n_hinted, start, start + len, hint);
	} else if (is_shape(hint) && n_shaped < ADVICE_MAX) {
		err = table_add(shaped, &n_shaped, start, start + len, hint);
	}
	unlock();
	return hot ? 0 : err;
}

void regions_shape_clear(uint64_t start, uint64_t len)
{
	lock();
	table_cut(shaped, &n_shaped, start, start + len);
	unlock();
}

/* The hint of @tab's last range covering @addr, or NORMAL. */
static int table_hint_at(const struct range *tab, const unsigned *n, uint64_t addr)
{
	int hint = UZSWAP_HINT_NORMAL;
	unsigned i;

	lock();
	for (i = 0; i < *n; i++)
		if (overlaps(&tab[i], addr, addr + 1))
			hint = tab[i].hint;
	unlock();
	return hint;
}

int regions_hint_at(uint64_t addr)
{
	return table_hint_at(hinted, &n_hinted, addr);
}

int regions_shape_at(uint64_t addr)
{
	return table_hint_at(shaped, &n_shaped, addr);
}

static int block_excluded(uint64_t b)
{
	unsigned i;
	int ex = 0;

	lock();
	for (i = 0; i < n_excluded && !ex; i++)
		ex = overlaps(&excluded[i], b, b + UZ_BLOCK_SIZE);
	unlock();
	return ex;
}

/* UZSWAP_SCOPE=explicit: manage only what the API registered. */
static int explicit_only(void)
{
	static int v = -1;

	if (v < 0) {
		const char *s = uz_env("UZSWAP_SCOPE");

		v = s && !strcmp(s, "explicit");
	}
	return v;
}

static int block_in_explicit(uint64_t b)
{
	unsigned i;
	int in = 0;

	lock();
	for (i = 0; i < n_explicit && !in; i++)
		in = explicit_[i].start <= b &&
		     b + UZ_BLOCK_SIZE <= explicit_[i].end;
	unlock();
	return in;
}

/*
 * Parse one maps line: "start-end perms offset dev inode   path".
 * Returns 1 for anonymous private writable memory we may take.
 */
static int maps_line_eligible(const char *l, uint64_t *s, uint64_t *e)
{
	char *p;
	unsigned long inode;

	*s = strtoull(l, &p, 16);
	if (*p != '-')
		return 0;
	*e = strtoull(p + 1, &p, 16);
	/* perms: rw-p only; shared, read-only and exec are not ours */
	if (strncmp(p, " rw-p ", 6))
		return 0;
	p += 6;
	strtoull(p, &p, 16);		 /* offset */
	while (*p == ' ')
		p++;
	while (*p && *p != ' ')
		p++;			 /* dev */
	inode = strtoul(p, &p, 10);
	if (inode)
		return 0;
	while (*p == ' ')
		p++;
	/* plain anonymous, the brk heap, or a prctl-named anon region */
	return *p == '\n' || *p == 0 || !strncmp(p, "[heap]", 6) ||
	       !strncmp(p, "[anon:", 6);
}

struct scan_state {
	int (*fn)(uint64_t, void *);
	void *arg;
	int pass;	/* 0: COLD-hinted blocks, 1: the rest */
	int stopped;
	int64_t managed;
	uint64_t s, e; /* the smaps entry being read, */
	int pending;   /* eligible so far */
};

/*
 * The VmFlags verdicts of the last read of smaps, per eligible VMA (in
 * address order).  smaps walks every page table (sort's agent spent 6 %
 * of both CPUs there, and sort took 40 s instead of 49 s without it,
 * 2026-12-06 00:33 UTC).  A walk within FLAGS_FRESH_MS of it, with no
 * call of the program's since that can change the flags (flags_gen:
 * madvise and process_madvise with such advice, the lock calls, mremap,
 * a MAP_FIXED mmap), takes a VMA's verdict from the ranges read then,
 * when they cover it with one verdict: our own registration splits and
 * merges VMAs at every eviction and restore, which changes no flag.
 * What a verdict could miss meanwhile: a raw system call or io_uring's
 * madvise.  A lock so set is harmless (UFFDIO_MOVE refuses a locked
 * VMA); MADV_WIPEONFORK is looked for again at fork(), but a child of
 * _Fork() or a raw clone could read the stored copy, as it could of
 * memory evicted before the raw call.
 */
#define FLAGS_CACHE_MAX 1024
#define FLAGS_FRESH_MS 500
struct flags_verdict {
	uint64_t s, e;
	int allow;
};
static struct flags_verdict verdicts[FLAGS_CACHE_MAX];
static unsigned n_verdicts;
static uint32_t verdicts_ms, verdicts_gen;
static unsigned flags_gen; /* bumped by the interposers */

void regions_flags_changed(void)
{
	/* the agent's own calls (staging, its buffers) are not the
	 * program's, and would make every walk read smaps */
	if (!fds_agent_thread())
		__atomic_add_fetch(&flags_gen, 1, __ATOMIC_RELAXED);
}

/* The verdict of the ranges read that cover [@s, @e) with one verdict
 * (adjacent ones too: VMAs merged since), or -1 */
static int verdict_of(uint64_t s, uint64_t e)
{
	unsigned lo = 0, hi = n_verdicts, i;
	uint64_t at = s;
	int allow;

	while (lo < hi) { /* the first range ending above s */
		unsigned mid = (lo + hi) / 2;

		if (verdicts[mid].e <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n_verdicts || verdicts[lo].s > s)
		return -1;
	allow = verdicts[lo].allow;
	for (i = lo; i < n_verdicts && at < e; i++) {
		if (verdicts[i].s != at && i != lo)
			return -1; /* a gap: a VMA not read then */
		if (verdicts[i].allow != allow)
			return -1;
		at = verdicts[i].e;
	}
	return at >= e ? allow : -1;
}

static void edge(uint64_t x, uint64_t b, uint64_t *next)
{
	if (x > b && x < *next)
		*next = x;
}

static void edges_of(const struct range *tab, unsigned n, uint64_t b, uint64_t *next)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t first = tab[i].start & ~(uint64_t)(UZ_BLOCK_SIZE - 1);
		uint64_t last = (tab[i].end - 1) & ~(uint64_t)(UZ_BLOCK_SIZE - 1);

		edge(first, b, next);
		edge(first + UZ_BLOCK_SIZE, b, next);
		edge(last, b, next);
		edge(last + UZ_BLOCK_SIZE, b, next);
	}
}

/*
 * The first block after @b (at most @limit) where a range of any table
 * starts or ends: every block in between is excluded, hinted and
 * registered alike.  A walk of a huge mapping (a sanitizer's terabytes
 * of shadow, hinted hot) takes a step per range, not one per 2 MB.
 */
static uint64_t next_edge(uint64_t b, uint64_t limit)
{
	uint64_t next = limit;

	lock();
	edges_of(excluded, n_excluded, b, &next);
	edges_of(hinted, n_hinted, b, &next);
	edges_of(explicit_, n_explicit, b, &next);
	unlock();
	return next;
}

static void scan_vma(struct scan_state *st, uint64_t s, uint64_t e)
{
	uint64_t b = (s + UZ_BLOCK_SIZE - 1) & ~(uint64_t)(UZ_BLOCK_SIZE - 1);
	uint64_t end = e & ~(uint64_t)(UZ_BLOCK_SIZE - 1);

	/* after a stop the walk goes on counting managed bytes */
	while (b < end) {
		uint64_t next = next_edge(b, end);
		int hint;

		if (block_excluded(b) || (explicit_only() && !block_in_explicit(b))) {
			b = next;
			continue;
		}
		hint = regions_hint_at(b);
		if (st->pass == 1)
			st->managed += (int64_t)(next - b);
		if (hint == UZSWAP_HINT_HOT || !st->fn || st->stopped ||
		    (hint == UZSWAP_HINT_COLD) != (st->pass == 0)) {
			b = next;
			continue;
		}
		for (; b < next && !st->stopped; b += UZ_BLOCK_SIZE)
			if (st->fn(b, st->arg))
				st->stopped = 1;
		b = next;
	}
}

/* Does the smaps "VmFlags:" line @l (past its key: two letters a flag,
 * each after a space) carry the two letters @flag? */
static int vmflag_has(const char *l, const char *flag)
{
	for (; *l && *l != '\n'; l++)
		if (l[0] == ' ' && l[1] == flag[0] && l[2] == flag[1] &&
		    (l[3] == ' ' || l[3] == '\n' || !l[3]))
			return 1;
	return 0;
}

/*
 * Is the smaps "VmFlags:" line @l free of the flags that rule eviction
 * out?  lo: mlock()ed (the application asked it to stay resident);
 * wf: MADV_WIPEONFORK (a child must read zeros, but it would share the
 * stored copy); dc: MADV_DONTFORK (a child has no such memory to hold).
 */
static int vmflags_allow(const char *l)
{
	return !vmflag_has(l, "lo") && !vmflag_has(l, "wf") && !vmflag_has(l, "dc");
}

/* One line of maps, or of smaps when evicting: there an eligible VMA is
 * walked only once its VmFlags line has been read. */
static void scan_line(struct scan_state *st, const char *l, int smaps)
{
	if (smaps && !strncmp(l, "VmFlags:", 8)) {
		int allow = vmflags_allow(l + 7);

		if (st->pending && n_verdicts < FLAGS_CACHE_MAX)
			verdicts[n_verdicts++] = (struct flags_verdict){
				st->s, st->e, allow };
		else if (st->pending)
			verdicts_valid = 0; /* too many to keep */
		if (st->pending && allow)
			scan_vma(st, st->s, st->e);
		st->pending = 0;
		return;
	}
	if (smaps && !((*l >= '0' && *l <= '9') || (*l >= 'a' && *l <= 'f')))
		return; /* one of smaps' other key: value lines */
	st->pending = maps_line_eligible(l, &st->s, &st->e);
	if (st->pending && !smaps)
		scan_vma(st, st->s, st->e);
}

/* Call @line on each line of @which, read in pieces into @buf (@size
 * bytes; no allocation).  0; -errno when it cannot be opened; -EIO when
 * a read failed part way or a line did not fit (the lines seen are
 * not all there are). */
static int read_lines(enum procmaps_file which, char *buf, size_t size,
		      void (*line)(const char *l, void *arg), void *arg)
{
	size_t have = 0;
	off_t off = 0;
	ssize_t n;
	int fd = procmaps_fd(which), reopened = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		char *l = buf, *nl;

		if (have == size - 1)
			return -EIO; /* a line longer than the buffer */
		n = pread(fd, buf + have, size - 1 - have, off);
		if (n < 0 && errno == ESRCH && !off && !reopened++) {
			/* opened by an agent thread that ended */
			fd = procmaps_reopen(which);
			if (fd < 0)
				return fd;
			continue;
		}
		if (n < 0)
			return -EIO;
		if (!n)
			break;
		off += n;
		have += n;
		buf[have] = 0;
		while ((nl = strchr(l, '\n'))) {
			line(l, arg);
			l = nl + 1;
		}
		have -= l - buf;
		memmove(buf, l, have);
	}
	return 0;
}

static void scan_maps_line(const char *l, void *arg)
{
	scan_line(arg, l, 0);
}

static void scan_smaps_line(const char *l, void *arg)
{
	scan_line(arg, l, 1);
}

/* The eligible VMAs of a read of maps, each with its verdict; miss set
 * when one has none (or too many) */
struct verdict_list {
	struct flags_verdict v[FLAGS_CACHE_MAX];
	unsigned n;
	int miss;
};

static void verdict_line(const char *l, void *arg)
{
	struct verdict_list *vl = arg;
	uint64_t s, e;
	int allow;

	if (vl->miss || !maps_line_eligible(l, &s, &e))
		return;
	allow = verdict_of(s, e);
	if (allow < 0 || vl->n == FLAGS_CACHE_MAX)
		vl->miss = 1;
	else
		vl->v[vl->n++] = (struct flags_verdict){ s, e, allow };
}

/* The eligible VMAs with their verdicts from the last read of smaps,
 * when those are fresh and there is one for each; 0 when smaps must be
 * read */
static int verdicts_fresh(char *buf, size_t size, struct verdict_list *vl)
{
	vl->n = 0;
	vl->miss = 0;
	if (!verdicts_valid || now_ms() - verdicts_ms > FLAGS_FRESH_MS ||
	    __atomic_load_n(&flags_gen, __ATOMIC_RELAXED) != verdicts_gen)
		return 0;
	return !read_lines(PROCMAPS_MAPS, buf, size, verdict_line, vl) &&
	       !vl->miss;
}

int64_t regions_scan(int (*fn)(uint64_t block, void *arg), void *arg)
{
	static char buf[64 * 1024];
	static struct verdict_list vl;
	struct scan_state st = { .fn = fn, .arg = arg };
	/* an eviction needs each VMA's flags (smaps); a count does not */
	int smaps = fn != NULL, hints, err;
	unsigned gen = __atomic_load_n(&flags_gen, __ATOMIC_RELAXED), i;
	/* the eligible VMAs with their verdicts, when known without a
	 * read of smaps: kept from an earlier walk, or read by pass 0 */
	const struct flags_verdict *known = NULL;
	unsigned n_known = 0;

	/* the interposers change it meanwhile (madvise, munmap) */
	lock();
	hints = n_hinted != 0;
	unlock();
	if (smaps && verdicts_fresh(buf, sizeof(buf), &vl)) {
		known = vl.v;
		n_known = vl.n;
	}
	/* pass 0 takes COLD-hinted blocks first; without hints it is empty */
	for (st.pass = fn && hints ? 0 : 1; st.pass < 2; st.pass++) {
		st.pending = 0;
		if (known) {
			for (i = 0; i < n_known; i++)
				if (known[i].allow)
					scan_vma(&st, known[i].s, known[i].e);
			continue;
		}
		if (smaps) {
			/* read anew: kept if the whole of it is read */
			n_verdicts = 0;
			verdicts_valid = 1;
		}
		err = read_lines(smaps ? PROCMAPS_SMAPS : PROCMAPS_MAPS, buf,
				 sizeof(buf), smaps ? scan_smaps_line : scan_maps_line,
				 &st);
		if (smaps && err)
			verdicts_valid = 0;
		if (smaps && !err) {
			verdicts_ms = now_ms();
			verdicts_gen = gen;
			/* pass 1 walks what pass 0 read, not smaps again,
			 * unless the program changed flags meanwhile */
			if (verdicts_valid &&
			    __atomic_load_n(&flags_gen, __ATOMIC_RELAXED) == gen) {
				known = verdicts;
				n_known = n_verdicts;
			}
		}
		/* what was read part way is walked still, as it always was */
		if (err && err != -EIO)
			return err;
	}
	return st.managed;
}

struct flagged_state {
	const char *flag;
	int (*keep)(uint64_t s, uint64_t e);
	uint64_t s, e;
	int vma; /* s, e hold the VMA whose VmFlags come next */
	uint64_t (*out)[2];
	uint32_t max, n;
};

static void flagged_line(const char *l, void *arg)
{
	struct flagged_state *st = arg;
	char *p;

	if (!strncmp(l, "VmFlags:", 8)) {
		if (st->vma && vmflag_has(l + 8, st->flag) &&
		    (!st->keep || st->keep(st->s, st->e))) {
			if (st->n < st->max) {
				st->out[st->n][0] = st->s;
				st->out[st->n][1] = st->e;
			}
			st->n++;
		}
		st->vma = 0;
		return;
	}
	if (!((*l >= '0' && *l <= '9') || (*l >= 'a' && *l <= 'f')))
		return;
	st->s = strtoull(l, &p, 16);
	st->vma = *p == '-';
	if (st->vma)
		st->e = strtoull(p + 1, NULL, 16);
}

int64_t regions_flagged(const char *flag, int (*keep)(uint64_t s, uint64_t e),
			uint64_t (*out)[2], uint32_t max)
{
	/* not the scan's buffer nor its descriptor: a fork's request is
	 * served inside a scan's walk */
	static char buf[16 * 1024];
	struct flagged_state st = { flag, keep, 0, 0, 0, out, max, 0 };
	int err = read_lines(PROCMAPS_SMAPS_FLAGS, buf, sizeof(buf), flagged_line, &st);

	return err ? err : (int64_t)st.n;
}
