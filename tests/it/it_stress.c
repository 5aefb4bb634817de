/* SPDX-License-Identifier: MIT */
/*
 * Randomized stress: what programs do to their memory, interleaved with
 * evictions at random moments and uzswapd killed (-9) and restarted,
 * every byte checked against a shadow copy.
 *
 *   it_stress [--seed N] [--seconds S] [--threads T] [--kills K]
 *             [--clients C] [--ops read,write,...]  (only those operations)
 *             [--auto MIN_AGE_S] [--limit MB]
 *
 * Worker threads pick operations at random on a set of regions: read and
 * check, write, MADV_DONTNEED a part, move the region with mremap (2 MB-
 * aligned or not; or by the raw system call, which no interposer sees,
 * at times twice in a row onto where it was), mprotect it read-only and
 * read it, mlock and read it, fork a child that checks it (and writes
 * its own copy; fork() or the raw clone system call, which runs no
 * atfork hook), replace it with a fresh mapping; a signal handler checks a constant region from
 * whatever thread it lands on; malloc/free churn checks its own blocks;
 * dup2() onto the high numbers where the agent's descriptors pass
 * (fds.c) checks the copy is still there before closing it; madvise()
 * advice the agent takes as hints (cold, pageout, sequential, random,
 * normal, willneed) is given and the range read; and now and then every
 * other thread and the evictor go quiet (OP_QUIET): each operation under
 * way must then end, with nothing else happening to wake the agent (a
 * fault the agent read and kept for later waited for good so), or the
 * run fails after QUIET_MAX_S.
 * An evictor thread runs `uzswapctl evict` (all, or some bytes) at random
 * moments, and K times during the run kills the daemon with SIGKILL and
 * starts a new one.  With --auto the daemon also takes memory on its own
 * (auto=on, a guard of 1 s), through the inactive list with that min-age.
 * With --limit every client runs in a memory cgroup v1 of that many MB,
 * with its shadow copies in unnamed files (page cache the kernel can
 * write out): restores at the limit make room first, inside the agent's
 * fault handling (root and cgroup v1 only).
 * With C clients, C - 1 forked processes do the same
 * work on regions of their own, evicted at random too.  The shadow lives in MAP_SHARED memory, which the
 * agent never takes.  Each thread draws from its own generator seeded
 * from --seed: a failing seed is printed and can be run again (thread
 * interleavings still differ between runs).  The agent's test hooks
 * come through the environment (UZSWAP_TEST_WALK_SETTLE_MS=3: every
 * walk ends reading the uffd and keeping its faults, it_stress.sh).
 * Exit 0 when every check
 * passed; the last line counts operations, evictions, kills and errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define N_REGIONS 12
#define MAX_REGION (16 * IT_MB)
#define CONST_LEN (4 * IT_MB)

enum op { OP_READ, OP_WRITE, OP_DONTNEED, OP_MOVE, OP_PROTECT, OP_LOCK,
	  OP_FORK, OP_REPLACE, OP_MALLOC, OP_SIGNAL, OP_RAWCLONE, OP_USERNS,
	  OP_SETUID, OP_DUP2, OP_ADVISE, OP_RAWMOVE, OP_POKE, OP_QUIET, N_OPS };
static const char *const op_name[N_OPS] = {
	"read", "write", "dontneed", "mremap", "mprotect", "mlock",
	"fork", "replace", "malloc", "signal", "rawclone", "userns", "setuid",
	"dup2", "advise", "rawmove", "poke", "quiet",
};

/* Workers and the evictor hold it shared for each operation; OP_QUIET
 * holds it alone (writers first: it is not starved).  From the moment
 * it asks (quiet_since, ms on CLOCK_MONOTONIC, 0: not asking) the
 * operations under way have QUIET_MAX_S to end: the main thread's
 * watch fails the run after that. */
static pthread_rwlock_t quiet_lock;
static atomic_ulong quiet_since;
#define QUIET_MAX_S 30
#define MAX_WORKERS 16
/* each worker's operation under way (-1: none), for the report of one
 * that does not end */
static atomic_int doing[MAX_WORKERS + 1]; /* workers count from 1 */

struct region {
	pthread_mutex_t lock;
	uint8_t *mem;	 /* the application's copy, evictable */
	uint8_t *shadow; /* the truth, MAP_SHARED: never evicted */
	size_t len;
};

static struct region regions[N_REGIONS];
static uint8_t *const_mem;	/* never written after the start */
/* shared with the other clients (MAP_SHARED): they count here too */
static struct counters {
	atomic_ulong ops[N_OPS], evictions, kills, errors;
	atomic_int stop;
} *cnt;
#define ops cnt->ops
#define evictions cnt->evictions
#define kills cnt->kills
#define errors cnt->errors
#define stop cnt->stop
#define MAX_CLIENTS 8
static pid_t clients[MAX_CLIENTS];
static int n_clients = 1;
#ifdef __SANITIZE_THREAD__
/* make check-tsan: TSan's runtime cannot follow a raw clone() of a
 * process with threads: the child copies the runtime's locks as other
 * threads held them, and its _exit() interceptor waits on one for ever
 * (seen in every seed).  fork() it follows (its interceptor takes them
 * first).  --ops rawclone still asks for it.  rawmove has not been run
 * under TSan yet: --ops ...,rawmove. */
#define DEFAULT_OPS (((1u << N_OPS) - 1) & ~(1u << OP_RAWCLONE) & ~(1u << OP_RAWMOVE))
#else
#define DEFAULT_OPS ((1u << N_OPS) - 1)
#endif
static unsigned op_mask = DEFAULT_OPS;
static unsigned long long seed = 1;

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* The first wrong byte, and how many of the checked pages are wrong
 * and where they end (a page, a 64 KB frame, a block: which path). */
static void report(const char *what, const struct region *r, size_t off,
		   size_t end)
{
	size_t pg, bad_pages = 0, last = off;

	for (pg = off & ~(size_t)4095; pg < end; pg += 4096) {
		size_t n = end - pg < 4096 ? end - pg : 4096;

		if (memcmp(r->mem + pg, r->shadow + pg, n)) {
			bad_pages++;
			last = pg;
		}
	}
	atomic_fetch_add(&errors, 1);
	fprintf(stderr, "ERROR (seed %llu): %s: region %ld offset %zu of %zu: "
		"%#x, want %#x (%zu pages wrong, the last at %zu; region at %p)\n",
		seed, what, (long)(r - regions), off, r->len, r->mem[off],
		r->shadow[off], bad_pages, last, (void *)r->mem);
}

static void check(const struct region *r, size_t off, size_t len, const char *what)
{
	size_t i;

	if (memcmp(r->mem + off, r->shadow + off, len))
		for (i = off; i < off + len; i++)
			if (r->mem[i] != r->shadow[i]) {
				report(what, r, i, off + len);
				return;
			}
}

static void region_fill(struct region *r, uint64_t *s)
{
	size_t off;

	/* runs of one byte, random bytes and zeros: every kind of frame */
	for (off = 0; off < r->len; off += 4096) {
		uint64_t k = rng_below(s, 4);
		size_t i;

		if (k == 0)
			memset(r->shadow + off, 0, 4096);
		else if (k == 1)
			memset(r->shadow + off, (int)rng_next(s), 4096);
		else
			for (i = 0; i < 4096; i += 8) {
				uint64_t v = k == 2 ? rng_next(s) : off + i;

				memcpy(r->shadow + off + i, &v, 8);
			}
	}
	memcpy(r->mem, r->shadow, r->len);
}

/* --limit: shadows in files, not charged memory the cgroup cannot give
 * back (the kernel writes them out at the limit) */
static int shadow_in_files;

/* A shadow of @len bytes, shared with the other clients' checks: memory
 * the agent never takes (MAP_SHARED), or an unnamed file in /var/tmp. */
static uint8_t *shadow_new(size_t len)
{
	int fd = -1;
	void *p;

	if (shadow_in_files) {
		fd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		it_assert(fd >= 0 && !ftruncate(fd, (off_t)len),
			  "shadow file in /var/tmp: %s", strerror(errno));
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
	it_assert(p != MAP_FAILED, "shadow mmap failed: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return p;
}

static void region_new(struct region *r, uint64_t *s)
{
	r->len = (1 + rng_below(s, MAX_REGION / IT_BLOCK)) * IT_BLOCK;
	r->mem = it_alloc(r->len, (int)rng_below(s, 2));
	r->shadow = shadow_new(r->len);
	region_fill(r, s);
}

/* A fresh mapping over @r itself (mmap MAP_FIXED), filled anew: its
 * UNMAP comes while other threads fault, and the address is the same. */
static void region_map_over(struct region *r, uint64_t *s)
{
	void *p = mmap(r->mem, r->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	it_assert(p == r->mem, "mmap MAP_FIXED: %s", strerror(errno));
	madvise(p, r->len, rng_below(s, 2) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	region_fill(r, s);
}

static void region_free(struct region *r)
{
	munmap(r->mem, r->len);
	munmap(r->shadow, r->len);
}

/* A random page-aligned part of @r: [*off, *off + *len). */
static void some_part(const struct region *r, uint64_t *s, size_t *off, size_t *len)
{
	size_t pages = r->len / 4096;

	*off = rng_below(s, pages) * 4096;
	*len = (1 + rng_below(s, pages - *off / 4096 < 1024 ? pages - *off / 4096 : 1024)) * 4096;
}

static void op_move(struct region *r, uint64_t *s)
{
	/* to a new place 2 MB-aligned, or one page off that */
	size_t shift = rng_below(s, 2) ? 4096 : 0;
	uint8_t *area = it_alloc(r->len + IT_BLOCK, 0), *to;

	to = mremap(r->mem, r->len, r->len, MREMAP_MAYMOVE | MREMAP_FIXED, area + shift);
	if (to == MAP_FAILED) {
		atomic_fetch_add(&errors, 1);
		fprintf(stderr, "ERROR (seed %llu): mremap %p+%#zx -> %p: %s\n", seed, (void *)r->mem, r->len, (void *)(area + shift), strerror(errno));
		munmap(area, r->len + IT_BLOCK);
		return;
	}
	/* what is left of the landing area around it */
	if (shift)
		munmap(area, shift);
	munmap(area + shift + r->len, IT_BLOCK - shift);
	r->mem = to;
	check(r, 0, r->len, "after mremap");
}

/* How much of [to, to + len) a move that failed part way moved there:
 * the read-write mappings from its start, the rest of the landing
 * place having been made PROT_NONE first.  (Not what is unmapped at the
 * source: another thread's mmap may take that hole at once, and the
 * next piece of the move then took that thread's memory along: a
 * shadow torn, a thread stack moved away, a crash in a page of zeros.) */
static size_t moved_head(const uint8_t *to, size_t len)
{
	unsigned long s, e, at = (unsigned long)to, end = at + len;
	char line[512], perm[8];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (at < end && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perm) == 3 && s <= at &&
		    at < e) {
			if (strncmp(perm, "rw", 2))
				break;
			at = e < end ? e : end;
		}
	fclose(f);
	return at - (unsigned long)to;
}

/*
 * The mremap system call itself, which glibc's realloc makes and no
 * interposer sees: evicted pages follow the move without being brought
 * back first.  @r to @to, an address we own; 0 or -1 (counted).
 * A range the agent split into several VMAs (its registrations) fails
 * with EFAULT, and since Linux 6.17 a move to a fixed place first moves
 * the VMAs before the one it cannot: the rest follows, by the raw call
 * while that moves something, else by the interposed one, which brings
 * the range back first (what a program that knows its range may be in
 * pieces does; the pieces must keep their bytes).
 */
static int raw_move(struct region *r, uint8_t *to)
{
	uint8_t *from = r->mem;
	size_t done = 0, len = r->len;

	/* the landing place is ours (a window): what lands there is told
	 * apart from what was there (moved_head) */
	mprotect(to, len, PROT_NONE);
	while (done < len) {
		void *p = (void *)syscall(SYS_mremap, from + done, len - done,
					  len - done, MREMAP_MAYMOVE | MREMAP_FIXED,
					  to + done);
		size_t moved;

		if (p == to + done)
			break;
		moved = errno == EFAULT ? moved_head(to + done, len - done) : 0;
		if (!moved) {
			p = mremap(from + done, len - done, len - done,
				   MREMAP_MAYMOVE | MREMAP_FIXED, to + done);
			if (p == to + done)
				break;
			atomic_fetch_add(&errors, 1);
			fprintf(stderr, "ERROR (seed %llu): raw mremap %p+%#zx -> %p: %s\n", seed, (void *)(from + done), len - done, (void *)(to + done), strerror(errno));
			return -1; /* torn: the check after it says where */
		}
		done += moved;
	}
	r->mem = to;
	return 0;
}

/* Into a window of our own (2 MB-aligned or a page off), and mostly
 * then away and straight back into the window, before any copy the
 * first move left could run: 2 MB or a page either side of where it
 * was, or onto it, where blocks of it are still stored. */
/* Unmap [base, base + len) but for the hole [base + at, + hole) in it,
 * which is not ours (another mapping may be there now). */
static void unmap_around(uint8_t *base, size_t len, size_t at, size_t hole)
{
	munmap(base, at);
	munmap(base + at + hole, len - at - hole);
}

static void op_rawmove(struct region *r, uint64_t *s)
{
	static const long back[] = { IT_BLOCK, -(long)IT_BLOCK, 4096, -4096, 0 };
	size_t win_len = r->len + 2 * IT_BLOCK + 8192, at = IT_BLOCK + rng_below(s, 2) * 4096;
	size_t away_len = r->len + IT_BLOCK, shift = (1 + rng_below(s, 511)) * 4096;
	uint8_t *win = it_alloc(win_len, 0), *away = it_alloc(away_len, 0);
	size_t first_at = at;
	int hole_ours = 1; /* [win + first_at, + len) is ours when not moved to */
	int went_away = 0; /* the region landed in away, and may have left it */

	if (!raw_move(r, win + at) && rng_below(s, 4) && !raw_move(r, away + shift)) {
		/* the window has a hole now: ours again, unless another
		 * thread's mmap took part of it meanwhile */
		void *fill = mmap(win + at, r->len, PROT_NONE, MAP_PRIVATE |
				  MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		went_away = 1;
		hole_ours = fill == win + at;
		if (hole_ours) {
			at += back[rng_below(s, 5)];
			raw_move(r, win + at);
		} else if (fill != MAP_FAILED) {
			munmap(fill, r->len); /* an old kernel's hint */
		}
	}
	/* what is left of the window and of the landing place; a hole
	 * another thread's mmap took part of is not ours to unmap */
	if (r->mem == win + at) {
		unmap_around(win, win_len, at, r->len);
		if (went_away)
			/* the hole the region left there may be another
			 * thread's mapping now (a thread stack glibc had just
			 * mapped: pthread_create() died writing it, seed 615) */
			unmap_around(away, away_len, shift, r->len);
		else
			munmap(away, away_len);
	} else if (r->mem == away + shift) {
		if (hole_ours)
			munmap(win, win_len);
		else
			unmap_around(win, win_len, first_at, r->len);
		unmap_around(away, away_len, shift, r->len);
	} else {
		munmap(win, win_len);
		munmap(away, away_len);
	}
	check(r, 0, r->len, "after a raw mremap");
}

/* fork(), or the raw system call (no atfork hooks, no agent in the
 * child: the parent's agent fills it), or fork() and a child that
 * enters a user namespace of its own (its agent steps aside) */
/* A child by fork() (@op OP_FORK), the raw clone system call
 * (OP_RAWCLONE), one that enters a user namespace (OP_USERNS) or drops
 * root (OP_SETUID: it leaves the arena it shares with us) reads its
 * copy, then writes it. */
static void op_fork(struct region *r, uint64_t *s, enum op op)
{
	size_t off, len;
	pid_t pid;
	int st;

	some_part(r, s, &off, &len);
	pid = op == OP_RAWCLONE ?
		(pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0) : fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		/* the child's copy: right, and its own when written */
		int bad;

		if (op == OP_USERNS && unshare(CLONE_NEWUSER) && errno == EINVAL)
			_exit(2); /* EPERM, ENOSPC: not allowed here */
		if (op == OP_SETUID && !geteuid() &&
		    (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)))
			_exit(3);
		bad = memcmp(r->mem + off, r->shadow + off, len) != 0;

		memset(r->mem + off, 0x5a, len);
		bad |= memcmp(r->mem, r->shadow, off) != 0;
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

		atomic_fetch_add(&errors, 1);
		fprintf(stderr, "ERROR (seed %llu): %s: the child %s (region "
			"%ld, status %#x)\n", seed,
			op == OP_RAWCLONE ? "raw clone" :
			op == OP_USERNS ? "fork + unshare(CLONE_NEWUSER)" :
			op == OP_SETUID ? "fork + setresuid" : "fork",
			code == 1 ? "read wrong bytes" :
			code == 2 ? "got EINVAL from unshare (the agent did not "
				    "step aside)" :
			code == 3 ? "could not drop root" : "died",
			(long)(r - regions), st);
	}
	/* and the parent's copy is untouched by the child's writes */
	check(r, 0, r->len, "after fork");
}

static void op_malloc(uint64_t *s)
{
	size_t n = 4096 + rng_below(s, 4 * IT_MB);
	uint8_t *p = malloc(n);
	uint8_t v = (uint8_t)rng_next(s);
	size_t i;

	if (!p)
		return;
	memset(p, v, n);
	usleep((useconds_t)rng_below(s, 2000));
	for (i = 0; i < n; i++)
		if (p[i] != v) {
			atomic_fetch_add(&errors, 1);
			fprintf(stderr, "ERROR (seed %llu): malloc block byte %zu\n", seed, i);
			break;
		}
	free(p);
}

/* The handler reads evicted memory on whatever thread it lands. */
static void on_signal(int sig)
{
	static const uint64_t mul = 0x9e3779b97f4a7c15ull;
	static atomic_ulong n;
	uint64_t i = (atomic_fetch_add(&n, 1) * 7919 + (uint64_t)sig) % (CONST_LEN / 8);
	uint64_t v;

	memcpy(&v, const_mem + i * 8, 8);
	if (v != i * mul)
		atomic_fetch_add(&errors, 1);
}

/* A descriptor of ours dup2()ed onto one of this thread's 8 numbers in
 * 896..1023, where the agent's pass through our table (fds.c): it must
 * still be ours when we close it. */
static void op_dup2(uint64_t *s, unsigned thread)
{
	static int devnull = -1;
	struct stat want, st;
	int fd = 896 + (int)(thread % 16) * 8 + (int)rng_below(s, 8);

	if (__atomic_load_n(&devnull, __ATOMIC_ACQUIRE) < 0) {
		int d = open("/dev/null", O_RDONLY | O_CLOEXEC), none = -1;

		if (d < 0 || !__atomic_compare_exchange_n(&devnull, &none, d, 0,
							  __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE))
			close(d);
	}
	if (fstat(devnull, &want) || dup2(devnull, fd) != fd)
		return; /* a lowered RLIMIT_NOFILE, say: nothing to check */
	sched_yield();
	if (fstat(fd, &st) || st.st_ino != want.st_ino || st.st_dev != want.st_dev) {
		atomic_fetch_add(&errors, 1);
		fprintf(stderr, "ERROR (seed %llu): descriptor %d, dup2()ed by us, "
			"was closed or replaced under us\n", seed, fd);
	}
	close(fd);
}

static unsigned long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long)t.tv_sec * 1000 + (unsigned long)t.tv_nsec / 1000000;
}

/* Every other thread quiet, then a read: a fault left unserved shows as
 * the wait for the lock never ending (quiet_watch) */
static void op_quiet(struct region *r, uint64_t *s)
{
	size_t off, len;

	atomic_store(&quiet_since, mono_ms());
	pthread_rwlock_wrlock(&quiet_lock);
	atomic_store(&quiet_since, 0);
	pthread_mutex_lock(&r->lock);
	some_part(r, s, &off, &len);
	check(r, off, len, "read alone");
	pthread_mutex_unlock(&r->lock);
	pthread_rwlock_unlock(&quiet_lock);
}

static void limit_remove(void);

/* What is under way, said before a run that hangs ends (_exit) */
static void report_stuck(void)
{
	int i;

	for (i = 1; i <= MAX_WORKERS; i++)
		if (atomic_load(&doing[i]) >= 0)
			/* not stdio's stderr: a stuck thread may hold its lock */
			dprintf(2, "  worker %d: %s\n", i,
				op_name[atomic_load(&doing[i])]);
	it_report_tree(getpid(), 0);
	if (getenv("IT_STRESS_HOLD")) {
		/* for a debugger: the stuck threads as they are */
		dprintf(2, "  IT_STRESS_HOLD: process %d waits 10 minutes\n",
			(int)getpid());
		sleep(600);
	}
}

/* The main thread's look, once a second: fails the run (exit 1) when the
 * others have not gone quiet QUIET_MAX_S after OP_QUIET asked */
static void quiet_watch(void)
{
	unsigned long since = atomic_load(&quiet_since);

	if (since && mono_ms() - since > QUIET_MAX_S * 1000ul) {
		fprintf(stderr, "ERROR (seed %llu): an operation under way did "
			"not end %d s after every other thread went quiet: a "
			"fault left unserved?\n", seed, QUIET_MAX_S);
		report_stuck();
		limit_remove(); /* _exit: a stuck thread may hold what exit() needs */
		_exit(1);
	}
}

/* Join worker @n, whose last operation must end within QUIET_MAX_S of
 * the stop (and a quiet one asked for meanwhile, in time too): exit 1
 * otherwise, rather than the alarm's SIGALRM */
static void join_in_time(pthread_t t, int n)
{
	unsigned long from = mono_ms();
	struct timespec by;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &by);
		by.tv_sec++;
		if (!pthread_timedjoin_np(t, NULL, &by))
			return;
		quiet_watch();
		if (mono_ms() - from > QUIET_MAX_S * 1000ul) {
			fprintf(stderr, "ERROR (seed %llu): worker %d did not end "
				"its operation %d s after the stop: a fault left "
				"unserved?\n", seed, n, QUIET_MAX_S);
			report_stuck();
			limit_remove();
			_exit(1);
		}
	}
}

static void do_op(enum op op, uint64_t *s, unsigned thread)
{
	struct region *r = &regions[rng_below(s, N_REGIONS)];
	size_t off, len;

	if (op == OP_QUIET) {
		op_quiet(r, s);
		return;
	}

	if (op == OP_MALLOC) {
		op_malloc(s);
		return;
	}
	if (op == OP_SIGNAL) {
		kill(getpid(), SIGUSR1);
		return;
	}
	if (op == OP_DUP2) {
		op_dup2(s, thread);
		return;
	}
	pthread_mutex_lock(&r->lock);
	some_part(r, s, &off, &len);
	switch (op) {
	case OP_READ:
		check(r, off, len, "read");
		break;
	case OP_WRITE: {
		uint8_t v = (uint8_t)rng_next(s);

		memset(r->shadow + off, v, len);
		memset(r->mem + off, v, len);
		break;
	}
	case OP_DONTNEED:
		if (madvise(r->mem + off, len, MADV_DONTNEED)) {
			atomic_fetch_add(&errors, 1);
			fprintf(stderr, "ERROR (seed %llu): MADV_DONTNEED %p+%#zx: %s\n",
				seed, (void *)(r->mem + off), len, strerror(errno));
			break;
		}
		memset(r->shadow + off, 0, len);
		check(r, off, len, "after MADV_DONTNEED");
		break;
	case OP_RAWMOVE:
		op_rawmove(r, s);
		break;
	case OP_POKE:
		/* isolated touches: single bytes of a few pages near each
		 * other, up or down, each the first or a second touch of its
		 * 64 KB frame (the agent's page refills, refill.c) */
		for (unsigned i = 0; i < 8; i++) {
			size_t at = off + rng_below(s, len);

			check(r, at, 1, "poke");
			off = at & ~(size_t)4095;
			len = r->len - off < 8 * 4096 ? r->len - off : 8 * 4096;
			if (off >= 4 * 4096 && rng_below(s, 2))
				off -= 4 * 4096;
		}
		break;
	case OP_MOVE:
		op_move(r, s);
		break;
	case OP_ADVISE: {
		/* advice the agent takes as hints; the bytes stay */
		static const int advice[] = { MADV_COLD, MADV_PAGEOUT,
			MADV_SEQUENTIAL, MADV_RANDOM, MADV_NORMAL, MADV_WILLNEED };

		madvise(r->mem + (off & ~(size_t)4095), len,
			advice[rng_below(s, sizeof(advice) / sizeof(advice[0]))]);
		check(r, off, len, "after advice");
		break;
	}
	case OP_PROTECT:
		mprotect(r->mem, r->len, PROT_READ);
		check(r, off, len, "read-only");
		mprotect(r->mem, r->len, PROT_READ | PROT_WRITE);
		break;
	case OP_LOCK:
		if (!mlock(r->mem + off, len)) {
			check(r, off, len, "mlocked");
			munlock(r->mem + off, len);
		}
		break;
	case OP_FORK:
	case OP_RAWCLONE:
	case OP_USERNS:
	case OP_SETUID:
		op_fork(r, s, op);
		break;
	case OP_REPLACE:
		check(r, 0, r->len, "before replace");
		if (rng_below(s, 2)) {
			region_free(r);
			region_new(r, s);
		} else {
			region_map_over(r, s);
		}
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	uint64_t s = seed * 1000003 + (uintptr_t)arg;
	/* reads and writes most often; the rest now and then */
	static const unsigned weight[N_OPS] = { 30, 20, 8, 4, 4, 3, 3, 2, 6, 4, 2, 1, 1, 2, 4, 4, 12, 1 };
	unsigned total = 0, i;

	for (i = 0; i < N_OPS; i++)
		total += op_mask & (1u << i) ? weight[i] : 0;
	while (!atomic_load(&stop)) {
		unsigned pick = (unsigned)rng_below(&s, total);
		enum op op = 0;

		while (!(op_mask & (1u << op)) || pick >= weight[op]) {
			if (op_mask & (1u << op))
				pick -= weight[op];
			op++;
		}
		atomic_store(&doing[(uintptr_t)arg], (int)op);
		if (op == OP_QUIET) {
			do_op(op, &s, (unsigned)(uintptr_t)arg);
		} else {
			pthread_rwlock_rdlock(&quiet_lock);
			do_op(op, &s, (unsigned)(uintptr_t)arg);
			pthread_rwlock_unlock(&quiet_lock);
		}
		atomic_store(&doing[(uintptr_t)arg], -1);
		atomic_fetch_add(&ops[op], 1);
	}
	return NULL;
}

static int kills_wanted;
static double seconds = 10;

/* Has client @pid ended (a zombie its parent, us, has yet to reap)?  A
 * client's run ends on its own clock, which may be a little ahead of
 * ours: a restart in between found it gone and called that an error.
 * How it ended is judged at the end (its exit status). */
static int client_ended(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	int ended = 1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		ended = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return ended;
}

/* After a daemon restart every client must come back: each is evicted
 * (a little) within 10 s, or the run fails. */
static void check_reattached(void)
{
	char out[256];
	int i, tries;

	for (i = 0; i < n_clients; i++) {
		for (tries = 0; tries < 100; tries++) {
			if (!it_ctl(out, sizeof(out), "evict %d --bytes 1M", (int)clients[i]))
				break;
			if (i && client_ended(clients[i]))
				break; /* a forked client at its end: not coming back */
			usleep(100000);
		}
		if (tries == 100) {
			atomic_fetch_add(&errors, 1);
			fprintf(stderr, "ERROR (seed %llu): client %d was not back "
				"10 s after the daemon restart\n", seed, (int)clients[i]);
		}
	}
}

static void *evictor(void *arg)
{
	uint64_t s = seed * 7919 + 17;
	struct timespec t0, now;
	int kill_every, done_kills = 0;
	pid_t daemon = 0;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill_every = kills_wanted ? (int)(seconds * 1000 / (kills_wanted + 1)) : 0;
	while (!atomic_load(&stop)) {
		char out[256];
		int ms;

		pid_t victim;

		usleep((useconds_t)(50000 + rng_below(&s, 400000)));
		victim = clients[rng_below(&s, (uint64_t)n_clients)];
		pthread_rwlock_rdlock(&quiet_lock);
		if (rng_below(&s, 3))
			it_ctl(out, sizeof(out), "evict %d --all", (int)victim);
		else
			it_ctl(out, sizeof(out), "evict %d --bytes %lluM", (int)victim,
			       (unsigned long long)(1 + rng_below(&s, 64)));
		pthread_rwlock_unlock(&quiet_lock);
		atomic_fetch_add(&evictions, 1);
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (kill_every && done_kills < kills_wanted && ms > (done_kills + 1) * kill_every) {
			/* the first daemon is it_setup's; later ones are ours */
			if (daemon) {
				kill(daemon, SIGKILL);
				waitpid(daemon, NULL, 0);
			} else {
				it_daemon_kill();
			}
			usleep((useconds_t)rng_below(&s, 300000));
			daemon = it_daemon_restart();
			done_kills++;
			atomic_fetch_add(&kills, 1);
			check_reattached();
		}
	}
	return NULL;
}

/* "read,write,...": the operations to do; anything else is an error */
static unsigned parse_ops(const char *list)
{
	char buf[256], *tok, *save;
	unsigned mask = 0;
	int i;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < N_OPS && strcmp(tok, op_name[i]); i++)
			;
		if (i == N_OPS)
			it_fail("--ops: no operation '%s'", tok);
		mask |= 1u << i;
	}
	if (!mask)
		it_fail("--ops: none given");
	return mask;
}

/* --auto: the automatic loop as busy as it goes */
static const char auto_config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=100\n"
	"auto-step=50\n"
	"auto-guard=1\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n"
	"min-age=%u\n";

/* --limit: this process and the clients it forks, in a memory cgroup of
 * their own, removed at the end. */
static int limit_mb;
static char limit_cg[256];

static void limit_remove(void)
{
	if (limit_cg[0] && it_memcg_remove(limit_cg))
		fprintf(stderr, "it_stress: could not remove %s: %s\n", limit_cg,
			strerror(errno));
}

static void limit_join(uint64_t bytes)
{
	snprintf(limit_cg, sizeof(limit_cg), IT_MEMCG_V1 "/uzswap-it-%d-stress",
		 (int)getpid());
	it_memcg_make(limit_cg, bytes);
	shadow_in_files = 1;
	atexit(limit_remove);
	it_cgroup_join(limit_cg);
}

int main(int argc, char **argv)
{
	int threads = 4, i;
	pthread_t th[MAX_WORKERS], ev;
	uint64_t s;
	unsigned long total = 0;
	char config[sizeof(auto_config) + 16];
	int auto_on;

	for (i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--limit"))
			it_need_memcg_v1(); /* before the daemon starts */
	for (i = 1; i + 1 < argc && strcmp(argv[i], "--auto"); i += 2)
		;
	auto_on = i + 1 < argc;
#ifdef __SANITIZE_THREAD__
	/* the loop would take ThreadSanitizer's own memory (it_need_auto_loop) */
	if (auto_on)
		printf("--auto: left out under ThreadSanitizer\n");
	auto_on = 0;
#endif
	if (auto_on) {
		snprintf(config, sizeof(config), auto_config,
			 (unsigned)atoi(argv[i + 1]));
		it_setup_config(argc, argv, config);
	} else {
		it_setup(argc, argv);
	}
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--kills"))
			kills_wanted = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ops"))
			op_mask = parse_ops(argv[i + 1]);
		else if (!strcmp(argv[i], "--clients"))
			n_clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--auto"))
			continue; /* read above */
		else if (!strcmp(argv[i], "--limit"))
			limit_mb = atoi(argv[i + 1]);
		else
			it_fail("usage: it_stress [--seed N] [--seconds S] [--threads T] "
				"[--kills K] [--clients C] [--ops LIST] [--auto MIN_AGE_S] "
				"[--limit MB]");
	}
	if (threads < 1 || threads > MAX_WORKERS)
		it_fail("--threads takes 1 to %d", MAX_WORKERS);
	if (n_clients < 1 || n_clients > MAX_CLIENTS)
		it_fail("--clients takes 1 to %d", MAX_CLIENTS);
	if (limit_mb < 0 || limit_mb > (1 << 20))
		it_fail("--limit takes a size in MB");
	if (limit_mb)
		limit_join((uint64_t)limit_mb * IT_MB);
	printf("seed %llu, %.0f s, %d threads, %d daemon kills, %d clients%s\n",
	       seed, seconds, threads, kills_wanted, n_clients,
	       limit_mb ? ", in a memory cgroup" : "");
	if (limit_mb)
		printf("memory cgroup limit %d MB\n", limit_mb);
#ifdef __SANITIZE_THREAD__
	if (op_mask == DEFAULT_OPS)
		printf("ThreadSanitizer build: no rawclone operation (its runtime "
		       "cannot follow a raw clone() of a threaded process)\n");
#endif
	fflush(stdout);
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	it_assert(cnt != MAP_FAILED, "mmap failed");
	clients[0] = getpid();
	for (i = 1; i < n_clients; i++) {
		pid_t c = fork();

		it_assert(c >= 0, "fork failed");
		if (!c) {
			/* a client of its own: other data, same checks */
			seed = seed * 31 + (unsigned long long)i;
			n_clients = 0; /* no evictor here */
			break;
		}
		clients[i] = c;
	}
	{
		pthread_rwlockattr_t a;

		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&quiet_lock, &a);
		pthread_rwlockattr_destroy(&a);
	}
	/* a hang is a failure: the watchdog ends it (each process) */
	alarm((unsigned)seconds + 120);
	s = seed;
	const_mem = it_alloc(CONST_LEN, 1);
	for (i = 0; i < CONST_LEN / 8; i++) {
		uint64_t v = (uint64_t)i * 0x9e3779b97f4a7c15ull;

		memcpy(const_mem + (size_t)i * 8, &v, 8);
	}
	for (i = 0; i < N_REGIONS; i++) {
		pthread_mutex_init(&regions[i].lock, NULL);
		region_new(&regions[i], &s);
	}
	signal(SIGUSR1, on_signal);
	for (i = 0; i <= MAX_WORKERS; i++)
		atomic_store(&doing[i], -1);
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	if (n_clients)
		pthread_create(&ev, NULL, evictor, NULL);
	{
		/* signals (the workers send some) cut a plain sleep short */
		struct timespec end, step;

		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += (time_t)seconds;
		/* a second at a time: the quiet operation's watch */
		do {
			clock_gettime(CLOCK_MONOTONIC, &step);
			step.tv_sec++;
			if (step.tv_sec > end.tv_sec ||
			    (step.tv_sec == end.tv_sec && step.tv_nsec > end.tv_nsec))
				step = end;
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &step, NULL) == EINTR)
				;
			quiet_watch();
		} while (step.tv_sec != end.tv_sec || step.tv_nsec != end.tv_nsec);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++)
		join_in_time(th[i], i + 1);
	if (n_clients)
		pthread_join(ev, NULL);
	/* everything, one last time */
	for (i = 0; i < N_REGIONS; i++)
		check(&regions[i], 0, regions[i].len, "at the end");
	if (!n_clients)
		_exit(0); /* another client: its errors are counted already */
	for (i = 1; i < n_clients; i++) {
		int st;

		if (waitpid(clients[i], &st, 0) != clients[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st)) {
			atomic_fetch_add(&errors, 1);
			fprintf(stderr, "ERROR (seed %llu): client %d ended with "
				"status %#x\n", seed, (int)clients[i], st);
		}
	}
	for (i = 0; i < N_OPS; i++) {
		printf("%s %lu%s", op_name[i], atomic_load(&ops[i]), i + 1 < N_OPS ? ", " : "\n");
		total += atomic_load(&ops[i]);
	}
	if (auto_on) /* this process's counters, since the last daemon start */
		printf("inactive list: %llu blocks taken, %llu touched back, "
		       "%llu compressed after min-age\n",
		       (unsigned long long)it_stat("inactive_taken"),
		       (unsigned long long)it_stat("inactive_back"),
		       (unsigned long long)it_stat("inactive_stored"));
	if (limit_mb)
		printf("at the cgroup's limit: %llu blocks taken out before a "
		       "restore\n",
		       (unsigned long long)it_stat("guard_blocks"));
	printf("seed %llu: %lu operations, %lu evictions, %lu daemon kills, %lu errors\n",
	       seed, total, atomic_load(&evictions), atomic_load(&kills),
	       atomic_load(&errors));
	return atomic_load(&errors) ? 1 : 0;
}
