/* SPDX-License-Identifier: MIT */
/*
 * zipf_2g's workload (tests/bench/zipf.sh): SIZE of text-like memory, a
 * hot tenth of its 2 MB blocks scattered over it at random, and for
 * SECONDS a single thread reading 64-byte lines of hot pages chosen by a
 * Zipf law over them (the hottest page most, the tail least); once a
 * second it also reads one page anywhere (cold memory is rarely, not
 * never, read).  No system is told anything: what takes the cold
 * memory away must find it on its own.  With PHASE_S (phase_shift),
 * every PHASE_S seconds the hot tenth moves to other blocks, at random.
 *
 * Prints one JSON line: accesses per second for each second, anonymous
 * memory resident at each second (RssAnon), and whether every page
 * still holds what was written (checked at the end).  Exit 1 on a wrong
 * byte, 2 on bad arguments, 99 on an error.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ul
#define BLOCK (2ul << 20)
#define PAGES_PER_BLOCK (BLOCK / PAGE)
#define MAX_SECONDS 3600
#define HOT_SHARE 10 /* % of the blocks */
#define ZIPF_S 0.99  /* the usual YCSB constant */

static uint64_t rng = 0x5eed;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(int code, const char *what)
{
	fprintf(stderr, "bench_zipf: %s: %s\n", what, strerror(errno));
	exit(code);
}

/* Page @i's expected word at @w: text-like (repeating words with a
 * counter in them, about 3x with lz4), cheap to make and to check. */
static uint64_t word_of(size_t i, size_t w)
{
	static const char words[][8] = { "memory  ", "swapped ", "page    ",
					  "the     ", "block   ", "cold    ",
					  "hot     ", "and     " };
	uint64_t v;

	memcpy(&v, words[(i * 7 + w / 3) % 8], 8);
	return w % 16 ? v : (uint64_t)i << 20 | w;
}

static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The first tenth of @order is the hot set: a new one at random */
static void shuffle(uint64_t *order, size_t n)
{
	for (size_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

int main(int argc, char **argv)
{
	static double per_s[MAX_SECONDS];
	static long rss_kb[MAX_SECONDS];
	size_t size, pages, blocks, hot_blocks, hot_pages, i, k, bad = 0;
	unsigned seconds, s, n_s = 0, phase_s = 0;
	uint64_t *mem, sum = 0, *hot;
	double *cdf, t0, next, norm = 0;

	if ((argc != 3 && argc != 4) || !(seconds = (unsigned)atoi(argv[1])) ||
	    seconds > MAX_SECONDS || !(size = strtoull(argv[2], NULL, 0) << 20) ||
	    (argc == 4 && !(phase_s = (unsigned)atoi(argv[3])))) {
		fprintf(stderr, "usage: bench_zipf SECONDS SIZE_MIB [PHASE_S]\n");
		return 2;
	}
	size = size / BLOCK * BLOCK;
	pages = size / PAGE;
	blocks = size / BLOCK;
	hot_blocks = blocks * HOT_SHARE / 100 ? blocks * HOT_SHARE / 100 : 1;
	hot_pages = hot_blocks * PAGES_PER_BLOCK;
	mem = mmap(NULL, size + BLOCK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die(99, "mmap");
	mem = (uint64_t *)(((uintptr_t)mem + BLOCK - 1) & ~(BLOCK - 1));
	if (madvise(mem, size, MADV_HUGEPAGE))
		die(99, "MADV_HUGEPAGE");
	for (i = 0; i < pages; i++)
		for (k = 0; k < PAGE / 8; k++)
			mem[i * (PAGE / 8) + k] = word_of(i, k);

	/* the hot blocks: a random tenth, so that address order says
	 * nothing; the Zipf ranks run over their pages, hottest first */
	hot = malloc(blocks * sizeof(*hot));
	cdf = malloc(hot_pages * sizeof(*cdf));
	if (!hot || !cdf)
		die(99, "malloc");
	for (i = 0; i < blocks; i++)
		hot[i] = i;
	shuffle(hot, blocks);
	for (i = 0; i < hot_pages; i++)
		cdf[i] = norm += 1.0 / pow((double)(i + 1), ZIPF_S);

	t0 = now_s();
	next = t0 + 1;
	for (;;) {
		unsigned long n = 0;

		for (k = 0; k < 4096; k++) {
			double u = (double)(rnd() >> 11) / (1ull << 53) * norm;
			size_t lo = 0, hi = hot_pages - 1, rank, page;

			while (lo < hi) { /* the first rank whose cdf >= u */
				size_t mid = (lo + hi) / 2;

				if (cdf[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			rank = lo;
			page = hot[rank / PAGES_PER_BLOCK] * PAGES_PER_BLOCK +
			       rank % PAGES_PER_BLOCK;
			sum += mem[page * (PAGE / 8) + (rnd() % (PAGE / 64)) * 8];
			n++;
		}
		per_s[n_s] += n;
		if (now_s() < next)
			continue;
		/* a second is over: one cold read, then the figures */
		sum += mem[(rnd() % pages) * (PAGE / 8)];
		rss_kb[n_s++] = rss_anon_kb();
		if (n_s == seconds)
			break;
		if (phase_s && n_s % phase_s == 0)
			shuffle(hot, blocks); /* the hot set moves */
		next += 1;
	}

	for (i = 0; i < pages; i++)
		for (k = 0; k < PAGE / 8; k++)
			if (mem[i * (PAGE / 8) + k] != word_of(i, k)) {
				if (++bad <= 4)
					fprintf(stderr, "bench_zipf: INTEGRITY page %zu "
						"word %zu\n", i, k);
				break;
			}
	printf("{\"size\": %zu, \"hot_bytes\": %zu, \"seconds\": %u, "
	       "\"phase_s\": %u, \"bad_pages\": %zu, \"sum\": %llu, "
	       "\"accesses\": [", size, hot_blocks * BLOCK, seconds, phase_s,
	       bad, (unsigned long long)(sum & 1));
	for (s = 0; s < n_s; s++)
		printf("%s%.0f", s ? ", " : "", per_s[s]);
	printf("], \"rss_anon_kb\": [");
	for (s = 0; s < n_s; s++)
		printf("%s%ld", s ? ", " : "", rss_kb[s]);
	printf("]}\n");
	return bad ? 1 : 0;
}
