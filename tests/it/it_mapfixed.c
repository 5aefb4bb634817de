/* SPDX-License-Identifier: MIT */
/*
 * Regions mapped anew over themselves (mmap MAP_FIXED, then filled with
 * new words) while other threads read memory back at a memory cgroup's
 * limit and `uzswapctl evict --all` runs every 0.3 s.  The mmap's UNMAP
 * event came in one read() with a fault; serving the fault ran the
 * guard's walk at the limit, which read the uffd again and evicted, and
 * the mmap's thread, its event read, went on writing meanwhile: the
 * walk took the new words out, and the UNMAP, handled only after the
 * walk, dropped them.  Readers saw zeros (review probe p_mut, 6 of 6
 * runs).  Events are now handled before the faults read with them.
 * The race wants a busy machine: a busy loop runs on each CPU (before
 * the fix, 1 of 4 runs so read zeros, and none of 8 on a quiet
 * machine: a test that catches it now and then, not every time).
 * Every word read must be the region's current generation, and so must
 * every word at the end.  Root and the cgroup v1 memory controller.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LIMIT (192 * IT_MB)
#define BIG (128 * IT_MB)
#define REGIONS 8
#define REGION (8 * IT_MB)
#define READERS 3
#define SECONDS 30
#define HOGS 2

static const char config[] = "[daemon]\nauto=on\n";
static char cg[256];
static pid_t hogs[HOGS];
static uint64_t *big;
static uint64_t *region[REGIONS];
static uint64_t generation[REGIONS];
static pthread_rwlock_t region_lock[REGIONS];
static volatile int stop;
static long wrong, reads, remaps;

static uint64_t word_of(int r, uint64_t gen, size_t w)
{
	return (it_text_word(w) ^ ((uint64_t)r << 56)) + gen * 0x9e3779b97f4a7c15ull;
}

static void fill(int r)
{
	for (size_t w = 0; w < REGION / 8; w++)
		region[r][w] = word_of(r, generation[r], w);
}

static void *reader(void *arg)
{
	unsigned s = (unsigned)(uintptr_t)arg * 31 + 7;

	while (!stop) {
		size_t w = (size_t)rand_r(&s) % (BIG / 4096) * 512;
		size_t rw = (size_t)rand_r(&s) % (REGION / 4096) * 512;
		int r = rand_r(&s) % REGIONS;
		uint64_t v;

		/* the big area: at the limit, faults meet the guard */
		if (big[w] != it_text_word(w)) {
			fprintf(stderr, "wrong word %zu of the big area: %#lx\n",
				w, (unsigned long)big[w]);
			__atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
		}
		/* a region, never while it is being mapped anew */
		pthread_rwlock_rdlock(&region_lock[r]);
		v = region[r][rw];
		if (v != word_of(r, generation[r], rw)) {
			fprintf(stderr, "wrong word %zu of region %d (generation "
				"%lu): %#lx\n", rw, r,
				(unsigned long)generation[r], (unsigned long)v);
			__atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
		}
		pthread_rwlock_unlock(&region_lock[r]);
		__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* A region mapped anew over itself and filled with its next generation. */
static void *remapper(void *arg)
{
	unsigned s = 99;

	(void)arg;
	while (!stop) {
		int r = rand_r(&s) % REGIONS;
		void *p;

		pthread_rwlock_wrlock(&region_lock[r]);
		p = mmap(region[r], REGION, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		it_assert(p == region[r], "mmap MAP_FIXED: %s", strerror(errno));
		madvise(p, REGION, MADV_HUGEPAGE);
		generation[r]++;
		fill(r);
		pthread_rwlock_unlock(&region_lock[r]);
		remaps++;
		usleep(20000);
	}
	return NULL;
}

static void *evicter(void *arg)
{
	(void)arg;
	while (!stop) {
		it_ctl(NULL, 0, "evict %d --all", (int)getpid());
		usleep(300000);
	}
	return NULL;
}

static void job(void)
{
	pthread_t readers[READERS], remap_thread, evict_thread;
	long wrong_at_end = 0;

	big = it_alloc(BIG, 1);
	for (size_t w = 0; w < BIG / 8; w++) {
		big[w] = it_text_word(w);
		if (w % (IT_MB / 8) == IT_MB / 8 - 1)
			usleep(12000); /* 80 MB/s: the daemon keeps up */
	}
	for (int r = 0; r < REGIONS; r++) {
		region[r] = it_alloc(REGION, 1);
		pthread_rwlock_init(&region_lock[r], NULL);
		fill(r);
	}
	printf("filled: %lu MB taken out\n",
	       (unsigned long)(it_stat("evicted_bytes") / IT_MB));
	fflush(stdout);
	for (long t = 0; t < READERS; t++)
		pthread_create(&readers[t], NULL, reader, (void *)t);
	pthread_create(&remap_thread, NULL, remapper, NULL);
	pthread_create(&evict_thread, NULL, evicter, NULL);
	for (int tick = 0; tick < 2 * SECONDS; tick++)
		usleep(500000);
	stop = 1;
	for (int t = 0; t < READERS; t++)
		pthread_join(readers[t], NULL);
	pthread_join(remap_thread, NULL);
	pthread_join(evict_thread, NULL);
	for (int r = 0; r < REGIONS; r++)
		for (size_t w = 0; w < REGION / 8; w++)
			wrong_at_end += region[r][w] != word_of(r, generation[r], w);
	for (size_t w = 0; w < BIG / 8; w++)
		wrong_at_end += big[w] != it_text_word(w);
	printf("%d s: %ld reads, %ld regions mapped anew, %lu faults, %lu "
	       "blocks taken out at the limit; %ld wrong words read, %ld "
	       "wrong at the end\n", SECONDS, reads, remaps,
	       (unsigned long)it_stat("faults"),
	       (unsigned long)it_stat("guard_blocks"), wrong, wrong_at_end);
	fflush(stdout);
	_exit(wrong || wrong_at_end ? 1 : 0);
}

/* A busy loop on each CPU, ended with the test (it_watchdog's way). */
static void hogs_start(void)
{
	for (int i = 0; i < HOGS; i++) {
		hogs[i] = fork();
		it_assert(hogs[i] >= 0, "fork: %s", strerror(errno));
		if (!hogs[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				;
		}
	}
}

static void hogs_stop(void)
{
	for (int i = 0; i < HOGS; i++)
		if (hogs[i] > 0) {
			kill(hogs[i], SIGKILL);
			waitpid(hogs[i], NULL, 0);
			hogs[i] = 0;
		}
}

static void cg_remove(void)
{
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_mapfixed: could not remove %s: %s\n", cg,
			strerror(errno));
}

static void cleanup(void)
{
	hogs_stop();
	cg_remove();
}

int main(int argc, char **argv)
{
	it_need_memcg_v1();
	it_need_auto_loop();
	it_setup_config(argc, argv, config);
	it_watchdog(300, " (it_mapfixed)");
	atexit(cleanup);
	snprintf(cg, sizeof(cg), IT_MEMCG_V1 "/uzswap-it-%d-mapfixed", getpid());
	it_memcg_make(cg, LIMIT);
	hogs_start();
	it_memcg_run(cg, job);
	hogs_stop();
	return 0;
}
