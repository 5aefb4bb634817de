/* SPDX-License-Identifier: MIT */
/*
 * A child made by a raw clone(SIGCHLD): no fork() of the C library, so
 * none of the agent's atfork hooks run, yet the child's copy of every
 * evicted page is missing.  It used to read zeros there, and a call it
 * made into the agent (mremap, fork, madvise through the C library)
 * waited for ever on an agent thread it does not have.  Each case runs
 * in a child that reports through its exit status:
 *   plain    the child reads all of its evicted memory
 *   busy     a parent thread reads evicted memory back while the main
 *            thread clones (the child was copied before those restores)
 *   calls    the child mremaps, drops and forks through the C library
 *   nested   the child raw-clones again; the grandchild reads it all
 *   exits    children that exit or exec at once (nothing leaks)
 *   moved    the parent moves evicted memory by a delta that keeps no
 *            2 MB alignment (raw mremap) and clones at once: the copy is
 *            still pending in the agent; the child reads it at the new place
 *   files    a CLONE_FILES child (one descriptor table) closes "all" its
 *            descriptors: the agent's stay, the parent's bytes too; a
 *            child with a table of its own closes them all
 *   vfork    a CLONE_VM|CLONE_VFORK child is not a foreign process: its
 *            mremap of partly restored evicted memory works
 *   chain    200 raw clones deep, each made while its parent is filled
 *            (the fill once nested on the agent's stack and crashed it)
 *   orphan   the parent _exit()s, exit()s or execs right after the clone:
 *            the child is filled all the same (it read zeros)
 *   queue    children queued (stopped) while the parent evicts again: the
 *            agent's own queue was evicted and it waited on itself
 *   twofork  a raw clone in one thread while another is inside fork()
 *            (held 300 ms by UZSWAP_TEST_FORK_FREEZE_MS): two FORK events
 *            in one freeze, the first once taken for fork()'s child
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)

static pid_t raw_clone(void)
{
	return (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
}

/* A child's verdict: 0 right, 1 wrong bytes, else its own code. */
static int reap(pid_t c, const char *what)
{
	int st;

	it_assert(c > 0, "%s: clone failed", what);
	it_assert(waitpid(c, &st, 0) == c, "%s: waitpid failed", what);
	it_assert(WIFEXITED(st), "%s: the child died (status %#x)", what, st);
	return WEXITSTATUS(st);
}

/* In a child: 0 when [p, p+len) holds @seed's pattern, else 1 (and
 * where it does not). */
static int child_check(const uint8_t *p, size_t len, uint64_t seed)
{
	long bad = it_check(p, len, seed);

	if (bad < 0)
		return 0;
	fprintf(stderr, "child %d: wrong byte at %p + %ld: %#x\n", (int)getpid(),
		(const void *)p, bad, p[bad]);
	return 1;
}

static uint8_t *fresh(uint64_t seed)
{
	uint8_t *m = it_alloc(LEN, 1);

	it_fill(m, LEN, seed);
	it_evict_all();
	return m;
}

static void plain(void)
{
	uint8_t *m = fresh(11);
	pid_t c = raw_clone();

	if (!c)
		_exit(child_check(m, LEN, 11));
	it_assert(!reap(c, "plain"), "plain: the raw-clone child read wrong bytes");
	it_assert(it_check(m, LEN, 11) < 0, "plain: the parent reads wrong bytes");
	munmap(m, LEN);
	printf("plain: the child read its evicted memory right\n");
}

static uint8_t *busy_mem;
static volatile int busy_stop;

static void *reader(void *arg)
{
	size_t off;
	unsigned sum = 0;

	(void)arg;
	for (off = 0; off < LEN && !busy_stop; off += 4096)
		sum += busy_mem[off];
	return (void *)(uintptr_t)sum;
}

static void busy(void)
{
	pthread_t t;
	pid_t c;

	busy_mem = fresh(12);
	busy_stop = 0;
	it_assert(!pthread_create(&t, NULL, reader, NULL), "pthread_create");
	c = raw_clone();
	if (!c)
		_exit(child_check(busy_mem, LEN, 12));
	pthread_join(t, NULL);
	it_assert(!reap(c, "busy"), "busy: the raw-clone child read wrong bytes "
		  "while its parent restored");
	it_assert(it_check(busy_mem, LEN, 12) < 0, "busy: the parent reads wrong bytes");
	munmap(busy_mem, LEN);
	printf("busy: the child was right while the parent read back\n");
}

/* In the child: mremap the second quarter away, drop the third, fork
 * through the C library; everything where it should be. */
static int child_calls(uint8_t *m)
{
	size_t q = LEN / 4;
	uint8_t *moved;
	size_t i;
	pid_t g;
	int st;

	moved = mremap(m + q, q, q, MREMAP_MAYMOVE | MREMAP_FIXED, m + LEN + q);
	if (moved == MAP_FAILED)
		return 3;
	if (madvise(m + 2 * q, q, MADV_DONTNEED))
		return 4;
	g = fork();
	if (g < 0)
		return 5;
	if (!g) {
		/* the fork()'s child: the same view */
		_exit(child_check(m, q, 13) || child_check(m + 3 * q, q, 13 + 3));
	}
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
		return 6;
	if (child_check(m, q, 13) || child_check(moved, q, 13 + 1) ||
	    child_check(m + 3 * q, q, 13 + 3))
		return 1;
	for (i = 0; i < q; i++)
		if (m[2 * q + i])
			return 1;
	return 0;
}

static void calls(void)
{
	size_t q = LEN / 4;
	uint8_t *m = it_alloc(2 * LEN, 1);
	unsigned k;
	pid_t c;
	int r;

	/* each quarter its own pattern, so a moved one is told apart */
	for (k = 0; k < 4; k++)
		it_fill(m + k * q, q, 13 + k);
	munmap(m + LEN, LEN); /* room for the mremap, and nothing there */
	it_evict_all();
	c = raw_clone();
	if (!c)
		_exit(child_calls(m));
	r = reap(c, "calls");
	it_assert(r != 1, "calls: the raw-clone child read wrong bytes after "
		  "mremap/MADV_DONTNEED/fork");
	it_assert(!r, "calls: the raw-clone child failed (code %d)", r);
	for (k = 0; k < 4; k++)
		it_assert(it_check(m + k * q, q, 13 + k) < 0,
			  "calls: the parent reads wrong bytes");
	munmap(m, LEN);
	printf("calls: mremap, MADV_DONTNEED and fork() in the child work\n");
}

static void nested(void)
{
	uint8_t *m = fresh(14);
	pid_t c = raw_clone();

	if (!c) {
		pid_t g = raw_clone();
		int st;

		if (g < 0)
			_exit(3);
		if (!g)
			_exit(child_check(m, LEN, 14));
		if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(4);
		_exit(WEXITSTATUS(st) ? 1 : child_check(m, LEN, 14));
	}
	it_assert(!reap(c, "nested"), "nested: a raw-clone grandchild read wrong bytes");
	munmap(m, LEN);
	printf("nested: the raw-clone grandchild read its memory right\n");
}

static void count_one(const char *path, void *n)
{
	(void)path;
	++*(int *)n;
}

/* Descriptors in every thread's table (the agent thread has its own). */
static int count_fds(void)
{
	int n = 0;

	it_task_fds(count_one, &n);
	return n;
}

static void exits(void)
{
	uint8_t *m = fresh(15);
	int before = count_fds(), i;

	for (i = 0; i < 20; i++) {
		pid_t c = raw_clone();

		if (!c) {
			if (i % 2)
				_exit(0);
			execl("/bin/true", "true", (char *)NULL);
			_exit(2);
		}
		it_assert(!reap(c, "exits"), "exits: a child failed");
	}
	it_assert(it_check(m, LEN, 15) < 0, "exits: the parent reads wrong bytes");
	/* the agent closes a child's descriptor once it finds it gone */
	for (i = 0; i < 200 && count_fds() != before; i++)
		usleep(10000);
	it_assert(count_fds() == before, "exits: descriptors leaked (%d -> %d)",
		  before, count_fds());
	munmap(m, LEN);
	printf("exits: 20 children that exit or exec at once, no descriptor kept\n");
}

static void moved(void)
{
	const size_t len = 8 * IT_MB;
	int i;

	for (i = 0; i < 5; i++) {
		uint8_t *area = it_alloc(4 * len, 0);
		uint8_t *dst = area + 2 * len + 4096 * (1 + i);
		pid_t c;

		munmap(area + len, 3 * len);
		it_fill(area, len, 16 + i);
		it_evict_all();
		it_assert((void *)syscall(SYS_mremap, area, len, len,
					  MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst,
			  "moved: mremap failed");
		c = raw_clone();
		if (!c)
			_exit(child_check(dst, len, 16 + i));
		it_assert(!reap(c, "moved"), "moved: the raw-clone child read "
			  "wrong bytes where an mremap had moved evicted memory");
		it_assert(it_check(dst, len, 16 + i) < 0, "moved: the parent reads wrong bytes");
		munmap(dst, len);
	}
	printf("moved: children of a parent that just moved evicted memory read it right\n");
}

/* Descriptors above 2 this process has, its listing's own left out. */
static int fds_above_2(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) > 2 &&
		    atoi(e->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

static void files(void)
{
	uint8_t *m = fresh(21);
	pid_t c = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);

	if (!c) {
		closefrom(3);
		_exit(0);
	}
	it_assert(!reap(c, "files"), "files: the child failed");
	it_assert(it_check(m, LEN, 21) < 0, "files: the parent reads wrong bytes "
		  "after a CLONE_FILES child's closefrom(3)");
	/* a child with a table of its own: there the agent's are copies that
	 * would pin the parent's store and daemon connection */
	c = raw_clone();
	if (!c) {
		closefrom(3);
		_exit(fds_above_2() ? 1 : 0);
	}
	it_assert(!reap(c, "files"), "files: a raw child's closefrom(3) left "
		  "descriptors open");
	munmap(m, LEN);
	printf("files: a CLONE_FILES child's closefrom(3) leaves the agent's descriptors\n");
}

static uint8_t *vf_src, *vf_dst;
static int vf_errno;

static int vfork_child(void *arg)
{
	(void)arg;
	if (mremap(vf_src, 8 * IT_MB, 8 * IT_MB, MREMAP_MAYMOVE | MREMAP_FIXED,
		   vf_dst) == MAP_FAILED)
		vf_errno = errno;
	return 0;
}

static void vfork_mremap(void)
{
	static char stack[1 << 16] __attribute__((aligned(16)));
	uint8_t *area = it_alloc(4 * 8 * IT_MB, 1);
	volatile uint8_t x;
	pid_t c;

	vf_src = area;
	vf_dst = area + 2 * 8 * IT_MB;
	mprotect(area + 8 * IT_MB, 3 * 8 * IT_MB, PROT_NONE);
	it_fill(vf_src, 8 * IT_MB, 22);
	it_evict_all();
	x = vf_src[2 * IT_MB + 100]; /* one block back: a VMA of its own */
	(void)x;
	c = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	it_assert(!reap(c, "vfork"), "vfork: the child failed");
	it_assert(!vf_errno, "vfork: mremap in a CLONE_VM child failed: %s",
		  strerror(vf_errno));
	it_assert(it_check(vf_dst, 8 * IT_MB, 22) < 0, "vfork: moved memory reads wrong");
	munmap(area, 4 * 8 * IT_MB);
	printf("vfork: a CLONE_VM child's mremap of evicted memory works\n");
}

/* Level @d clones level d+1 at once, then lets its copy go and waits. */
static int chain_level(uint8_t *m, size_t len, int d, int max)
{
	pid_t c = 0;
	int st;

	if (d < max) {
		c = raw_clone();
		if (c < 0)
			return 3;
		if (!c)
			_exit(chain_level(m, len, d + 1, max));
	}
	if (d == max)
		return child_check(m, len, 23);
	munmap(m, len);
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return 4;
	return WEXITSTATUS(st);
}

/* under ThreadSanitizer a level takes about a second (200 took 210 s
 * here, past the whole test's alarm): fewer, and more time for all */
#ifdef __SANITIZE_THREAD__
#define CHAIN_LEVELS 50
#define ALARM_S 480
#else
#define CHAIN_LEVELS 200
#define ALARM_S 240
#endif

static void chain(void)
{
	const size_t len = 4 * IT_MB;
	uint8_t *m = it_alloc(len, 0);
	int r;

	it_fill(m, len, 23);
	it_evict_all();
	r = chain_level(m, len, 0, CHAIN_LEVELS);
	it_assert(r != 1, "chain: the last of %d raw-clone levels read wrong bytes",
		  CHAIN_LEVELS);
	it_assert(!r, "chain: a level failed (code %d)", r);
	printf("chain: %d raw clones deep, the last reads its memory right\n",
	       CHAIN_LEVELS);
}

/* A middle process (fork()) raw-clones, then ends at once (@how: 0
 * _exit(), 1 exit(), 2 exec of /bin/true); the grandchild reports
 * through a pipe. */
static void orphan_one(int how)
{
	int fd[2], st;
	char verdict = 9;
	pid_t mid;

	it_assert(!pipe(fd), "pipe");
	mid = fork();
	it_assert(mid >= 0, "orphan: fork failed");
	if (!mid) {
		uint8_t *m = fresh(25);
		pid_t c = raw_clone();

		if (!c) {
			usleep(300000); /* the parent is gone by now */
			verdict = (char)child_check(m, LEN, 25);
			_exit(write(fd[1], &verdict, 1) == 1 ? 0 : 2);
		}
		if (how == 2)
			execl("/bin/true", "true", (char *)NULL);
		if (how == 1)
			exit(0);
		_exit(0);
	}
	close(fd[1]);
	it_assert(waitpid(mid, &st, 0) == mid && WIFEXITED(st), "orphan: the middle process failed");
	it_assert(read(fd[0], &verdict, 1) == 1, "orphan: no word from the grandchild");
	close(fd[0]);
	it_assert(!verdict, "orphan: a raw-clone child read wrong bytes after its "
		  "parent %s", how == 2 ? "exec'd" : how ? "exit()ed" : "_exit()ed");
}

static void orphan(void)
{
	orphan_one(0);
	orphan_one(1);
	orphan_one(2);
	printf("orphan: children of a parent that ended at once read their memory right\n");
}

static void queue(void)
{
	const size_t len = 1024 * IT_MB;
	uint8_t *m = it_alloc(len, 1);
	pid_t k[4];
	int i, round;

	it_fill(m, len, 26);
	it_evict_all();
	for (i = 0; i < 4; i++) {
		k[i] = raw_clone();
		if (!k[i]) {
			/* not raise(): its thread id is the parent's here */
			kill(getpid(), SIGSTOP);
			_exit(child_check(m, len, 26));
		}
	}
	for (round = 0; round < 3; round++) {
		it_assert(it_check(m, len, 26) < 0, "queue: the parent reads wrong bytes");
		it_evict_all();
	}
	for (i = 0; i < 4; i++) {
		kill(k[i], SIGCONT);
		it_assert(!reap(k[i], "queue"), "queue: a raw-clone child read wrong bytes");
	}
	munmap(m, len);
	printf("queue: evictions while children were being filled\n");
}

static uint8_t *tf_mem;
static pid_t tf_raw;

static void *tf_rawforker(void *arg)
{
	usleep(100000); /* inside the other thread's fork() freeze */
	tf_raw = raw_clone();
	if (!tf_raw)
		_exit(child_check(tf_mem, LEN, 24));
	return arg;
}

static void twofork(void)
{
	pthread_t t;
	pid_t g;

	tf_mem = fresh(24);
	it_assert(!pthread_create(&t, NULL, tf_rawforker, NULL), "pthread_create");
	g = fork();
	if (!g)
		_exit(child_check(tf_mem, LEN, 24));
	pthread_join(t, NULL);
	it_assert(!reap(tf_raw, "twofork"), "twofork: the raw-clone child read wrong bytes");
	it_assert(!reap(g, "twofork"), "twofork: fork()'s child read wrong bytes");
	it_assert(it_check(tf_mem, LEN, 24) < 0, "twofork: the parent reads wrong bytes");
	munmap(tf_mem, LEN);
	printf("twofork: a raw clone during another thread's fork(): both children right\n");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*run)(void); } cases[] = {
		{ "plain", plain }, { "busy", busy }, { "calls", calls },
		{ "nested", nested }, { "exits", exits }, { "moved", moved },
		{ "files", files }, { "vfork", vfork_mremap }, { "chain", chain },
		{ "orphan", orphan }, { "queue", queue }, { "twofork", twofork },
	};
	const char *only = getenv("IT_RAWCLONE_CASE"); /* one case, by name */
	unsigned i;

	/* twofork's window; each fork() of the test is held that long */
	if (!only || !strcmp(only, "twofork"))
		setenv("UZSWAP_TEST_FORK_FREEZE_MS", "300", 1);
	it_setup(argc, argv);
	alarm(ALARM_S);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!only || !strcmp(only, cases[i].name))
			cases[i].run();
	return 0;
}
