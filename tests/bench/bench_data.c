/* SPDX-License-Identifier: MIT */
/* The benchmark's data: text-like, zero or incompressible pages, checked. */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "uzswap.h"

#define XXH_INLINE_ALL /* header-only: no library to link */
#include <xxhash.h>

/* The first bytes of every text and incompressible page. */
struct page_hdr {
	uint64_t magic;
	uint64_t index; /* page number within the data */
	uint64_t gen;	/* this process's run id: stale data cannot pass */
	uint64_t csum;	/* XXH3 of the body, seeded with index */
};

#define BC_BODY (BC_PAGE - sizeof(struct page_hdr))

/* Sentences built once from a fixed seed: every run sees the same text. */
#define BC_WORDS 512
#define BC_SENTENCES 128 /* fewer: better ratio; 128 gives lz4 about 3 */
static char sentence[BC_SENTENCES][192];
static uint8_t sentence_len[BC_SENTENCES];

uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void text_init(void)
{
	static const char *syl[] = { "ta", "ren", "mo", "ka", "li", "sto", "ver",
				     "an", "pe", "dru", "ni", "col", "ex", "ma",
				     "sul", "o", "bri", "th", "ag", "ine" };
	char word[BC_WORDS][16];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int i, j, n, len;

	for (i = 0; i < BC_WORDS; i++) {
		word[i][0] = 0;
		n = 1 + rnd_next(&s) % 3;
		for (j = 0; j < n; j++)
			strcat(word[i], syl[rnd_next(&s) % 20]);
	}
	for (i = 0; i < BC_SENTENCES; i++) {
		n = 4 + rnd_next(&s) % 12;
		for (len = 0, j = 0; j < n; j++) {
			const char *w = word[rnd_next(&s) % BC_WORDS];

			memcpy(sentence[i] + len, w, strlen(w));
			len += strlen(w);
			sentence[i][len++] = ' ';
		}
		sentence[i][len - 1] = '.';
		sentence[i][len++] = '\n';
		sentence_len[i] = len;
	}
}

/* "NNNNN sentence" records, padded with blanks. */
static void body_text(uint8_t *body, size_t i)
{
	uint64_t s = (i + 1) * 0x9e3779b97f4a7c15ull;
	size_t o = 0;

	for (;;) {
		uint64_t r = rnd_next(&s);
		unsigned k = r % BC_SENTENCES, x = (r >> 40) % 100000, d;

		if (o + 6 + sentence_len[k] > BC_BODY)
			break;
		for (d = 0; d < 5; d++, x /= 10)
			body[o + 4 - d] = '0' + x % 10;
		body[o + 5] = ' ';
		memcpy(body + o + 6, sentence[k], sentence_len[k]);
		o += 6 + sentence_len[k];
	}
	memset(body + o, ' ', BC_BODY - o);
}

/* Random bytes that no codec shrinks (a splitmix64 stream per page). */
static void body_random(uint8_t *body, size_t i, uint64_t gen)
{
	uint64_t s = gen ^ (i * 0xbf58476d1ce4e5b9ull), z;
	size_t o;

	for (o = 0; o < BC_BODY; o += 8) {
		z = (s += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(body + o, &z, 8);
	}
}

static void page_fill(struct bench *b, size_t i)
{
	uint8_t *p = b->data + i * BC_PAGE, *body = p + sizeof(struct page_hdr);
	struct page_hdr h = { BC_MAGIC, i, b->gen, 0 };

	if (b->work->data == BD_ZERO) {
		/* a write, so that the page exists: a read would map the
		 * shared zero page, which nothing swaps */
		*(volatile uint8_t *)p = 0;
		return;
	}
	if (b->work->data == BD_TEXT)
		body_text(body, i);
	else
		body_random(body, i, b->gen);
	h.csum = XXH3_64bits_withSeed(body, BC_BODY, i);
	b->csum[i] = h.csum;
	memcpy(p, &h, sizeof(h));
}

/*
 * Map the data: 2 MB-aligned, MADV_HUGEPAGE (THP is in madvise mode
 * here: without it, no huge pages at all), and for the hinted workloads
 * MADV_SEQUENTIAL and uzswap_hint(SEQUENTIAL), which is how the agent
 * hears of it (it cannot see an madvise).
 */
void data_map(struct bench *b)
{
	uint8_t *p = bench_map(b->size + BC_BLOCK, 0);
	int (*hint)(void *, size_t, int);

	b->pages = b->size / BC_PAGE;
	b->data = (uint8_t *)(((uintptr_t)p + BC_BLOCK - 1) & ~(BC_BLOCK - 1));
	if (madvise(b->data, b->size, MADV_HUGEPAGE))
		bench_die(BC_EXIT_ERROR, "MADV_HUGEPAGE: %s", strerror(errno));
	b->csum = bench_map(b->pages * sizeof(uint64_t), 1);
	if (!b->work->hint_seq)
		return;
	if (madvise(b->data, b->size, MADV_SEQUENTIAL))
		bench_die(BC_EXIT_ERROR, "MADV_SEQUENTIAL: %s", strerror(errno));
	/* only there when the agent is preloaded */
	*(void **)&hint = dlsym(RTLD_DEFAULT, "uzswap_hint");
	bench_out_num(b, "hint_api", hint ? 1 : 0);
	if (hint && hint(b->data, b->size, UZSWAP_HINT_SEQUENTIAL))
		bench_die(BC_EXIT_ERROR, "uzswap_hint(SEQUENTIAL) failed");
}

void data_fill(struct bench *b)
{
	double t = bench_now();
	size_t i;

	if (b->work->data == BD_TEXT)
		text_init();
	b->gen = ((uint64_t)getpid() << 32) ^ bench_now_ns();
	for (i = 0; i < b->pages; i++)
		page_fill(b, i);
	bench_out_num(b, "size", b->size);
	bench_out_num(b, "fill_s", bench_now() - t);
	bench_note(b, "filled %zu MiB in %.2f s", b->size >> 20, bench_now() - t);
}

static int page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t acc = 0;
	size_t k;

	for (k = 0; k < BC_PAGE / 8; k++)
		acc |= w[k];
	return !acc;
}

/* Is page @i what was written?  Prints the first few that are not. */
int page_check(struct bench *b, size_t i, size_t *bad)
{
	const uint8_t *p = b->data + i * BC_PAGE;
	struct page_hdr h;
	uint64_t c;

	if (b->work->data == BD_ZERO) {
		if (page_is_zero(p))
			return 0;
		if (++*bad <= BC_MAX_BAD)
			fprintf(stderr, "bench_run: INTEGRITY %s/%s: page %zu "
					"(block %zu, +%zu KB) is not all zero\n",
				b->sys->name, b->work->name, i,
				i * BC_PAGE / BC_BLOCK,
				(i * BC_PAGE % BC_BLOCK) >> 10);
		return -1;
	}
	memcpy(&h, p, sizeof(h));
	c = XXH3_64bits_withSeed(p + sizeof(h), BC_BODY, i);
	if (h.magic == BC_MAGIC && h.index == i && h.gen == b->gen &&
	    h.csum == b->csum[i] && c == b->csum[i])
		return 0;
	if (++*bad <= BC_MAX_BAD)
		fprintf(stderr,
			"bench_run: INTEGRITY %s/%s: page %zu (block %zu, +%zu KB): "
			"magic %#llx index %llu gen %s csum %s body %s\n",
			b->sys->name, b->work->name, i, i * BC_PAGE / BC_BLOCK,
			(i * BC_PAGE % BC_BLOCK) >> 10,
			(unsigned long long)h.magic, (unsigned long long)h.index,
			h.gen == b->gen ? "ok" : "WRONG",
			h.csum == b->csum[i] ? "ok" : "WRONG",
			c == b->csum[i] ? "ok" : "WRONG");
	return -1;
}
