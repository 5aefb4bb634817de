/* SPDX-License-Identifier: MIT */
/*
 * The demo: fill about 1 GiB with realistic data, have uzswapd evict all
 * of it, touch it all back (half sequentially, half by random 4 KB
 * touches) and show what happened, checking every byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB (1ul << 20)
#define BLOCK (2 * MB)
#define PAGE 4096ul

static const char *ctl_path(void)
{
	const char *p = getenv("UZSWAPCTL");

	return p && *p ? p : "uzswapctl";
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Page @i's contents: 15% zero, 10% one repeated word, 60% text-like,
 * 15% random (incompressible). */
static void page_make(uint8_t *p, uint64_t i)
{
	static const char *words[] = { "swap ", "huge ", "page ", "cold ",
				       "memory ", "block ", "frame ", "lz4 " };
	uint64_t h = mix(i), k = h % 100, x = h;
	size_t o = 0;

	if (k < 15) {
		memset(p, 0, PAGE);
	} else if (k < 25) {
		for (o = 0; o < PAGE; o += 8)
			memcpy(p + o, &h, 8);
	} else if (k < 85) {
		o = snprintf((char *)p, PAGE, "page %lu: ", (unsigned long)i);
		while (o < PAGE) {
			const char *w = words[(x = mix(x)) % 8];
			size_t l = strlen(w);

			if (o + l > PAGE)
				l = PAGE - o;
			memcpy(p + o, w, l);
			o += l;
		}
	} else {
		for (o = 0; o < PAGE; o += 8) {
			x = mix(x + o);
			memcpy(p + o, &x, 8);
		}
	}
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	long v = -1;

	while (f && fgets(l, sizeof(l), f))
		if (!strncmp(l, "RssAnon:", 8))
			v = atol(l + 8);
	if (f)
		fclose(f);
	return v;
}

static int run_ctl(char *out, size_t len, const char *args)
{
	char cmd[512];
	FILE *f;
	size_t n;

	char *preload = getenv("LD_PRELOAD");
	int st;

	/* the shell and the CLI are not part of the demo: keep them out
	 * of the agent */
	snprintf(cmd, sizeof(cmd), "%s %s", ctl_path(), args);
	preload = preload ? strdup(preload) : NULL;
	unsetenv("LD_PRELOAD");
	f = popen(cmd, "r");
	if (preload) {
		setenv("LD_PRELOAD", preload, 1);
		free(preload);
	}
	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	st = pclose(f);
	return st;
}

/* A number from our entry of `uzswapctl stats --json`. */
static uint64_t stat_of(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"pid\": %d", getpid());
	p = strstr(json, pat);
	if (!p) {
		snprintf(pat, sizeof(pat), "\"pid\":%d", getpid());
		p = strstr(json, pat);
	}
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = p ? strstr(p, pat) : NULL;
	return p ? strtoull(strchr(p, ':') + 1, NULL, 10) : 0;
}

static char *human(uint64_t b, char *buf)
{
	if (b >= 1ull << 30)
		sprintf(buf, "%.2f GiB", b / (double)(1ull << 30));
	else
		sprintf(buf, "%.1f MiB", b / (double)MB);
	return buf;
}

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 1024) * MB;
	size_t pages = len / PAGE, i, bad = 0;
	char json[1 << 16], cmd[64], a[32], b[32];
	uint8_t *m, *raw, expect[PAGE];
	long rss0, rss1, rss2;
	double t0, t_evict, t_seq, t_rand;
	int st;

	raw = mmap(NULL, len + BLOCK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		fprintf(stderr, "uzdemo: mmap: %s\n", strerror(errno));
		return 1;
	}
	m = (uint8_t *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));
	madvise(m, len, MADV_HUGEPAGE);
	printf("filling %s with zero, same-filled, text and random pages...\n",
	       human(len, a));
	for (i = 0; i < pages; i++)
		page_make(m + i * PAGE, i);
	rss0 = rss_kb();

	printf("asking uzswapd to evict all of pid %d...\n", getpid());
	snprintf(cmd, sizeof(cmd), "evict %d --all", getpid());
	t0 = now();
	st = run_ctl(json, sizeof(json), cmd);
	t_evict = now() - t0;
	if (st) {
		fprintf(stderr, "uzdemo: uzswapctl evict failed: %s\n", json);
		return 1;
	}
	printf("  %s", json);
	rss1 = rss_kb();
	run_ctl(json, sizeof(json), "stats --json");
	uint64_t evicted = stat_of(json, "evicted_bytes");
	uint64_t stored = stat_of(json, "stored_bytes");
	uint64_t pool = stat_of(json, "pool_bytes");

	/* first half sequentially: whole 2 MB blocks, huge pages again */
	t0 = now();
	for (i = 0; i < pages / 2; i++) {
		page_make(expect, i);
		bad += memcmp(m + i * PAGE, expect, PAGE) != 0;
	}
	t_seq = now() - t0;
	/* second half: isolated touches in random order, then the rest */
	t0 = now();
	for (i = 0; i < pages / 2; i += 64) {
		size_t p = pages / 2 + mix(i) % (pages / 2);

		page_make(expect, p);
		bad += memcmp(m + p * PAGE, expect, PAGE) != 0;
	}
	for (i = pages / 2; i < pages; i++) {
		page_make(expect, i);
		bad += memcmp(m + i * PAGE, expect, PAGE) != 0;
	}
	t_rand = now() - t0;
	rss2 = rss_kb();
	run_ctl(json, sizeof(json), "stats --json");

	printf("\n== uzswap demo: %s of application memory\n", human(len, a));
	printf("  evicted            %s in %.2f s\n", human(evicted, a), t_evict);
	printf("  RSS (anon)         %ld MiB before, %ld MiB evicted, %ld MiB after reading back\n",
	       rss0 / 1024, rss1 / 1024, rss2 / 1024);
	printf("  compressed         %s stored, %s pool (ratio %.2f)\n",
	       human(stored, a), human(pool, b),
	       stored ? (double)evicted / stored : 0.0);
	printf("  restores           %lu as 2 MB (%lu ahead of the reader), %lu as 64 KB, %lu as 4 KB, %lu zero frames\n",
	       (unsigned long)stat_of(json, "restores_2m"),
	       (unsigned long)stat_of(json, "prefetch_2m"),
	       (unsigned long)stat_of(json, "restores_64k"),
	       (unsigned long)stat_of(json, "restores_4k"),
	       (unsigned long)stat_of(json, "restores_zero"));
	printf("  fault latency      p50 %.1f us, p99 %.1f us (%lu faults)\n",
	       stat_of(json, "lat_p50_ns") / 1e3, stat_of(json, "lat_p99_ns") / 1e3,
	       (unsigned long)stat_of(json, "faults"));
	printf("  read back          first half sequential %.2f s (%.2f GB/s), second half random then full %.2f s\n",
	       t_seq, len / 2 / t_seq / 1e9, t_rand);
	if (bad) {
		printf("  INTEGRITY          %zu pages differ: FAILED\n", bad);
		return 1;
	}
	printf("  integrity          all %zu pages (%s) checked out\n", pages,
	       human(len, a));
	return 0;
}
