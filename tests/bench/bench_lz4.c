/* SPDX-License-Identifier: MIT */
/* The lz4 reference: how fast one core decompresses the same data. */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <lz4.h>

#include "bench.h"

#define BC_DEC_REPS 200 /* 2 MB decompressions timed */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Decompress frames [@f, @f + @n) into the 2 MB @dst, frame k at k % 32. */
static void lz4_frames(const uint8_t *comp, const int *clen, size_t bound,
		       size_t f, size_t n, uint8_t *dst)
{
	int r;

	for (n += f; f < n; f++) {
		r = LZ4_decompress_safe((const char *)comp + f * bound,
					(char *)dst + f % BC_FRAMES_PER_BLOCK * BC_FRAME,
					clen[f], BC_FRAME);
		if (r != (int)BC_FRAME)
			bench_die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: frame %zu: %d",
				  f, r);
	}
}

/* 2 MB-aligned THP memory, pre-faulted: no page fault is timed as lz4 */
static uint8_t *map_thp(size_t len, int c)
{
	uint8_t *p = bench_map(len + BC_BLOCK, 0);

	p = (uint8_t *)(((uintptr_t)p + BC_BLOCK - 1) & ~(BC_BLOCK - 1));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, c, len);
	return p;
}

static void run_lz4(struct bench *b)
{
	size_t nframes, nblocks, f, i, blk, total = 0;
	size_t bound = LZ4_compressBound(BC_FRAME);
	double t, dt, times[BC_DEC_REPS];
	uint8_t *comp, *dst;
	int *clen;

	if (b->work->data != BD_TEXT || b->work->evict_only)
		bench_die(BC_EXIT_USAGE, "the lz4 reference is for seq_1g's data");
	data_map(b);
	data_fill(b);
	nframes = b->size / BC_FRAME;
	nblocks = b->size / BC_BLOCK;
	/* the destination is one THP, like the agent's staging blocks */
	comp = map_thp(nframes * bound, 0);
	dst = map_thp(BC_BLOCK, 1);
	clen = calloc(nframes, sizeof(*clen));
	if (!clen)
		bench_die(BC_EXIT_ERROR, "out of memory");
	t = bench_now();
	for (f = 0; f < nframes; f++) {
		clen[f] = LZ4_compress_default((char *)b->data + f * BC_FRAME,
					       (char *)comp + f * bound, BC_FRAME, bound);
		if (clen[f] <= 0)
			bench_die(BC_EXIT_ERROR, "LZ4_compress_default failed");
		total += clen[f];
	}
	dt = bench_now() - t;
	bench_out_num(b, "ratio", (double)b->size / total);
	bench_out_num(b, "compr_bytes", total);
	bench_out_num(b, "compress_gbps", b->size / dt / 1e9);
	bench_note(b, "ratio %.2f, compress %.2f GB/s", (double)b->size / total,
		   b->size / dt / 1e9);

	/* one 2 MB block as 32 frames; a different block each time, so the
	 * compressed input comes from memory as a restore's does */
	for (i = 0; i < BC_DEC_REPS; i++) {
		blk = (i * 7919) % nblocks;
		t = bench_now();
		lz4_frames(comp, clen, bound, blk * BC_FRAMES_PER_BLOCK,
			   BC_FRAMES_PER_BLOCK, dst);
		times[i] = (bench_now() - t) * 1e9;
		if (memcmp(dst, b->data + blk * BC_BLOCK, BC_BLOCK))
			bench_die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: block %zu differs",
				  blk);
	}
	qsort(times, BC_DEC_REPS, sizeof(times[0]), cmp_double);
	bench_out_num(b, "dec2m_p50_ns", (long long)times[BC_DEC_REPS / 2]);
	bench_out_num(b, "dec2m_min_ns", (long long)times[0]);
	bench_out_num(b, "dec2m_p99_ns", (long long)times[BC_DEC_REPS * 99 / 100]);

	/* all of it, 64 KB frames into the same 2 MB staging block */
	t = bench_now();
	lz4_frames(comp, clen, bound, 0, nframes, dst);
	dt = bench_now() - t;
	if (memcmp(dst, b->data + (nblocks - 1) * BC_BLOCK, BC_BLOCK))
		bench_die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: last block differs");
	bench_out_num(b, "dec_gbps", b->size / dt / 1e9);
	bench_note(b, "2 MB decompress p50 %.0f us, all %.2f GB/s",
		   times[BC_DEC_REPS / 2] / 1e3, b->size / dt / 1e9);
	free(clen);
}

const struct system_ops sys_lz4 = {
	.name = "lz4",
	.run = run_lz4,
};
