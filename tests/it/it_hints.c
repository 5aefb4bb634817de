/* SPDX-License-Identifier: MIT */
/*
 * The program's own madvise() advice, taken as uzswap hints (interpose.c
 * take_advice): MADV_COLD/MADV_PAGEOUT memory goes first when uzswapd
 * asks for some bytes; MADV_RANDOM memory comes back 64 KB at a time even
 * where a fault would bring a whole 2 MB block, MADV_SEQUENTIAL memory 2
 * MB at a time even for a touch in the middle of a block; MADV_WILLNEED
 * brings evicted memory back before it is touched; none of it undoes a
 * HOT hint (MADV_WIPEONFORK memory is never evicted); advice the kernel
 * refuses is refused the same way.  Each hint has its control: the same
 * memory without it behaves the other way.  From a review (2026-12-02):
 * advice from a signal handler that interrupted the same thread's
 * madvise() (the hint table's lock: a hang), a program's MADV_COLD calls
 * filling the table HOT hints share (a HOT range's tail lost at a
 * munmap() in its middle, and evicted), and hints left on the tail an
 * in-place mremap() shrink drops (new memory there took them).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define BLOCK (2 * IT_MB)

static char out[4096];
static int handled_stop;

/* Faults taken while reading all of [p, p + LEN) and checking it. */
static uint64_t faults_reading(const uint8_t *p, uint64_t seed)
{
	uint64_t f0 = it_stat("faults");

	it_assert(it_check(p, LEN, seed) < 0, "wrong bytes (seed %lu)",
		  (unsigned long)seed);
	return it_stat("faults") - f0;
}

static uint8_t *filled(uint64_t seed)
{
	uint8_t *p = it_alloc(LEN, 1);

	it_fill(p, LEN, seed);
	return p;
}

/* Of two regions, the one uzswapd's address-order walk takes last is
 * advised cold; asked for one region's bytes, it must take that one. */
static void cold_first(int advice, const char *name)
{
	uint8_t *a = filled(11), *b = filled(12);
	uint8_t *cold = a > b ? a : b, *warm = a > b ? b : a;
	uint64_t sc = cold == a ? 11 : 12, sw = cold == a ? 12 : 11;

	it_assert(!madvise(cold, LEN, advice), "%s: %s", name, strerror(errno));
	it_assert(!it_ctl(out, sizeof(out), "evict %d --bytes 8M", getpid()),
		  "evict --bytes 8M: %s", out);
	it_assert(faults_reading(warm, sw) == 0,
		  "%s: the other region was evicted before the advised one", name);
	it_assert(faults_reading(cold, sc) > 0,
		  "%s: the advised region was not evicted first", name);
	munmap(a, LEN);
	munmap(b, LEN);
	printf("%s: that memory went first\n", name);
}

/* Touch the first page of each block (a 2 MB restore, without advice)
 * or a page in the middle of each (less); the blocks that came back
 * whole (by the fault, or read ahead of it), and the 64 KB and 4 KB
 * restores. */
static void touch_blocks(uint8_t *p, uint64_t seed, size_t page_in_block,
			 uint64_t *whole, uint64_t *r64k, uint64_t *r4k)
{
	uint64_t m0 = it_stat("restores_2m") + it_stat("prefetch_2m");
	uint64_t k0 = it_stat("restores_64k"), p0 = it_stat("restores_4k");

	for (size_t off = 0; off < LEN; off += BLOCK)
		(void)*(volatile uint8_t *)(p + off + page_in_block * 4096);
	*r64k = it_stat("restores_64k") - k0;
	*r4k = it_stat("restores_4k") - p0;
	/* all of it back, so no read-ahead of these blocks is still under
	 * way when the next region is measured */
	it_assert(it_check(p, LEN, seed) < 0, "wrong bytes (seed %lu)",
		  (unsigned long)seed);
	*whole = it_stat("restores_2m") + it_stat("prefetch_2m") - m0;
}

static void shape(int advice, const char *name, size_t page, int want_whole)
{
	uint8_t *p = filled(21), *ctl = filled(22);
	uint64_t m, k, k4, cm, ck, ck4;

	it_assert(!madvise(p, LEN, advice), "%s: %s", name, strerror(errno));
	it_evict_all();
	touch_blocks(ctl, 22, page, &cm, &ck, &ck4);
	touch_blocks(p, 21, page, &m, &k, &k4);
	if (want_whole) {
		it_assert(cm == 0, "%s control: a touch at page %zu brought %lu "
			  "blocks back whole without advice", name, page,
			  (unsigned long)cm);
		it_assert(m == LEN / BLOCK && k == 0 && k4 == 0, "%s: %lu of "
			  "%lu blocks came back whole (%lu 64 KB, %lu 4 KB "
			  "restores)", name, (unsigned long)m,
			  (unsigned long)(LEN / BLOCK), (unsigned long)k,
			  (unsigned long)k4);
	} else {
		it_assert(cm >= 1, "%s control: no block came back whole "
			  "without advice", name);
		/* a random reader's first touch of a frame gets its page */
		it_assert(m == 0 && k4 >= LEN / BLOCK, "%s: %lu blocks whole, "
			  "%lu 4 KB restores", name, (unsigned long)m,
			  (unsigned long)k4);
	}
	munmap(p, LEN);
	munmap(ctl, LEN);
	printf("%s: %lu blocks whole, %lu 64 KB and %lu 4 KB restores (without "
	       "it: %lu, %lu and %lu)\n", name, (unsigned long)m,
	       (unsigned long)k, (unsigned long)k4, (unsigned long)cm,
	       (unsigned long)ck, (unsigned long)ck4);
}

static void willneed(void)
{
	uint8_t *p = filled(31), *ctl = filled(32);

	it_evict_all();
	it_assert(!madvise(p, LEN, MADV_WILLNEED), "MADV_WILLNEED: %s",
		  strerror(errno));
	it_assert(faults_reading(p, 31) == 0,
		  "MADV_WILLNEED: evicted memory was not brought back before the read");
	it_assert(faults_reading(ctl, 32) > 0,
		  "control: memory without MADV_WILLNEED was not evicted");
	munmap(p, LEN);
	munmap(ctl, LEN);
	printf("MADV_WILLNEED: brought back before it was read\n");
}

/* MADV_WIPEONFORK makes memory HOT: no later advice makes it evictable */
static void hot_stays(void)
{
	uint8_t *p = filled(41);

	it_assert(!madvise(p, LEN, MADV_WIPEONFORK), "MADV_WIPEONFORK: %s",
		  strerror(errno));
	it_assert(!madvise(p, LEN, MADV_COLD) && !madvise(p, LEN, MADV_NORMAL) &&
		  !madvise(p, LEN, MADV_RANDOM), "advice: %s", strerror(errno));
	it_evict_all();
	it_assert(faults_reading(p, 41) == 0,
		  "MADV_COLD made MADV_WIPEONFORK memory evictable");
	munmap(p, LEN);
	printf("MADV_WIPEONFORK memory stays after MADV_COLD, _NORMAL, _RANDOM\n");
}

static void refused_alike(void)
{
	uint8_t *p = filled(51);
	long want, got;
	int want_err, got_err;

	errno = 0;
	want = syscall(SYS_madvise, p, LEN, 12345);
	want_err = errno;
	errno = 0;
	got = madvise(p, LEN, 12345);
	got_err = errno;
	it_assert(got == want && got_err == want_err,
		  "advice 12345: %ld/%s, the kernel says %ld/%s", got,
		  strerror(got_err), want, strerror(want_err));
	errno = 0;
	got = madvise(p + 1, LEN, MADV_COLD);
	it_assert(got == -1 && errno == EINVAL, "an unaligned MADV_COLD: %ld/%s",
		  got, strerror(errno));
	munmap(p, LEN);
	printf("advice the kernel refuses: the same answer\n");
}

/* --- advice from a handler, inside the same thread's madvise() ---- */
static char *small;
static unsigned long handled;

static void advise_in_handler(int sig)
{
	int e = errno;

	(void)sig;
	madvise(small + 251 * 8192, 4096, MADV_SEQUENTIAL);
	madvise(small + 251 * 8192, 4096, MADV_WILLNEED);
	handled++;
	errno = e;
}

static void *ring(void *main_thread)
{
	struct timespec gap = { 0, 100 * 1000 };

	while (!__atomic_load_n(&handled_stop, __ATOMIC_RELAXED)) {
		pthread_kill(*(pthread_t *)main_thread, SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static void handler_advice(void)
{
	pthread_t me = pthread_self(), t;
	time_t t0 = time(NULL);
	unsigned long rounds = 0;

	small = mmap(NULL, 252 * 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	it_assert(small != MAP_FAILED, "mmap: %s", strerror(errno));
	signal(SIGUSR1, advise_in_handler);
	pthread_create(&t, NULL, ring, &me);
	while (time(NULL) - t0 < 3) {
		for (int i = 0; i < 250; i++) {
			madvise(small + i * 8192, 4096,
				(rounds + i) & 1 ? MADV_RANDOM : MADV_SEQUENTIAL);
			if (!(i % 50))
				munmap(small + i * 8192 + 4096, 4096);
		}
		rounds++;
	}
	__atomic_store_n(&handled_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	munmap(small, 252 * 8192);
	printf("advice from %lu handlers inside %lu rounds of madvise(): no hang\n",
	       handled, rounds);
}

/* --- HOT kept when the program's advice fills the table ------------ */
static void hot_kept_when_full(void)
{
	int (*hint)(void *, size_t, int) =
		(int (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "uzswap_hint");
	uint8_t *p = filled(61), *q;
	uint64_t f0;

	it_assert(hint, "no uzswap_hint in the agent");
	it_assert(!hint(p, LEN, 1 /* UZSWAP_HINT_HOT */), "uzswap_hint HOT failed");
	q = mmap(NULL, 600 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	it_assert(q != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int i = 0; i < 300; i++)
		madvise(q + 2 * i * 4096, 4096, MADV_COLD);
	it_assert(!hint(q, 4096, 1), "uzswap_hint HOT refused after the program's "
		  "300 MADV_COLD calls");
	munmap(p + 2 * IT_MB, 2 * IT_MB); /* splits the HOT range */
	it_evict_all();
	f0 = it_stat("faults");
	for (size_t off = 4 * IT_MB; off < LEN; off += 4096)
		(void)*(volatile uint8_t *)(p + off);
	it_assert(it_stat("faults") == f0, "the HOT range's tail was evicted "
		  "after the program's advice filled the table");
	munmap(p, 2 * IT_MB);
	munmap(p + 4 * IT_MB, 4 * IT_MB);
	munmap(q, 600 * 4096);
	/* a munmap() in the middle of an advised range splits it: splits
	 * are held to the advice's share too (a review's p_hotcrowd) */
	q = mmap(NULL, 300 * 4 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	it_assert(q != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int i = 0; i < 300; i++)
		madvise(q + (size_t)i * 4 * 4096, 3 * 4096, MADV_COLD);
	for (int i = 0; i < 300; i++)
		munmap(q + (size_t)i * 4 * 4096 + 4096, 4096);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	it_assert(p != MAP_FAILED, "mmap: %s", strerror(errno));
	it_assert(!hint(p, 4096, 1), "uzswap_hint HOT refused after 300 munmap()s "
		  "split the program's advised ranges");
	munmap(p, 4096);
	munmap(q, 300 * 4 * 4096);
	printf("300 MADV_COLD calls, and 300 munmap()s splitting them: HOT hints "
	       "still taken and kept\n");
}

/* --- no hint outlives an mremap() shrink --------------------------- */
static void shrink_forgets(void)
{
	uint8_t *p = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;
	uint64_t m0;

	it_assert(p != MAP_FAILED, "mmap: %s", strerror(errno));
	madvise(p, 2 * LEN, MADV_SEQUENTIAL);
	it_assert(mremap(p, 2 * LEN, LEN, 0) == (void *)p, "mremap: %s",
		  strerror(errno));
	q = mmap(p + LEN, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q != p + LEN) {
		printf("mremap shrink: the tail's address was taken; not checked\n");
		munmap(p, LEN);
		return;
	}
	madvise(q, LEN, MADV_NOHUGEPAGE);
	it_fill(q, LEN, 71);
	it_evict_all();
	m0 = it_stat("restores_2m") + it_stat("prefetch_2m");
	for (size_t off = 0; off < LEN; off += BLOCK)
		(void)*(volatile uint8_t *)(q + off + 100 * 4096);
	it_assert(it_check(q, LEN, 71) < 0, "mremap shrink: wrong bytes");
	it_assert(it_stat("restores_2m") + it_stat("prefetch_2m") == m0,
		  "new memory where an mremap() shrink dropped a MADV_SEQUENTIAL "
		  "range came back whole");
	munmap(q, LEN);
	munmap(p, LEN);
	printf("mremap shrink: the dropped tail's advice is forgotten\n");
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	alarm(120);
	cold_first(MADV_COLD, "MADV_COLD");
	cold_first(MADV_PAGEOUT, "MADV_PAGEOUT");
	shape(MADV_RANDOM, "MADV_RANDOM", 0, 0);
	shape(MADV_SEQUENTIAL, "MADV_SEQUENTIAL", 100, 1);
	willneed();
	hot_stays();
	refused_alike();
	handler_advice();
	hot_kept_when_full();
	shrink_forgets();
	return 0;
}
