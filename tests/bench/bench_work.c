/* SPDX-License-Identifier: MIT */
/* The workloads: which pages the read touches, in what order, timed. */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

static const struct workload workloads[] = {
	{ "seq_1g", BD_TEXT, BO_SEQ, 0, 0,
	  "text-like pages, every page read in address order" },
	{ "nohint_seq64", BD_TEXT, BO_SEQ, 0, 0,
	  "64 KB regions in address order, every page, no hint" },
	{ "seqhint_seq64", BD_TEXT, BO_SEQ, 1, 0,
	  "the same after MADV_SEQUENTIAL and uzswap_hint(SEQUENTIAL)" },
	{ "stride64_sparse", BD_TEXT, BO_STRIDE64, 0, 0,
	  "the first 4 KB of each 64 KB region, in address order" },
	{ "random64_sparse", BD_TEXT, BO_RANDOM64_SPARSE, 0, 0,
	  "one random 4 KB page of each 64 KB region, regions shuffled" },
	{ "random64_full", BD_TEXT, BO_RANDOM64_FULL, 0, 0,
	  "every page; 64 KB regions shuffled, pages in order within" },
	{ "zero_seq", BD_ZERO, BO_SEQ, 0, 0,
	  "zero pages, every page read in address order" },
	{ "incompressible_seq", BD_INCOMPRESSIBLE, BO_SEQ, 0, 0,
	  "random bytes, every page read in address order" },
	{ "evict_1g", BD_TEXT, BO_SEQ, 0, 1,
	  "the time to take text-like data away (then checked, untimed)" },
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* The quantiles written for the CDF plots: fine in the tail. */
static const double lat_grid_tail[] = { 0.991, 0.992, 0.993, 0.994, 0.995,
					0.996, 0.997, 0.998, 0.999, 0.9992,
					0.9994, 0.9996, 0.9998, 0.9999, 1 };

const struct workload *work_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_WORKLOADS; i++)
		if (!strcmp(name, workloads[i].name))
			return &workloads[i];
	return NULL;
}

void work_list(void)
{
	size_t i;

	for (i = 0; i < N_WORKLOADS; i++)
		fprintf(stderr, "    %-19s %s\n", workloads[i].name,
			workloads[i].what);
}

static int sparse(const struct bench *b)
{
	return b->work->order == BO_STRIDE64 ||
	       b->work->order == BO_RANDOM64_SPARSE;
}

/*
 * The touch order, built before anything is timed.  Random orders come
 * from a seed of the round: every system reads the same order in a
 * round, and the rounds differ.
 */
void work_order(struct bench *b)
{
	size_t regions = b->pages / BC_PAGES_PER_FRAME, i, j, n = 0;
	uint64_t s = 0x2545f4914f6cdd1dull * (b->round + 1);
	uint32_t *reg = NULL, t;

	b->touches = sparse(b) ? regions : b->pages;
	b->order = bench_map(b->touches * sizeof(uint32_t), 1);
	b->lat_ns = bench_map(b->touches * sizeof(uint32_t), 1);
	if (b->work->order == BO_RANDOM64_SPARSE ||
	    b->work->order == BO_RANDOM64_FULL) {
		reg = malloc(regions * sizeof(*reg));
		if (!reg)
			bench_die(BC_EXIT_ERROR, "out of memory");
		for (i = 0; i < regions; i++)
			reg[i] = i;
		for (i = regions - 1; i > 0; i--) { /* Fisher-Yates */
			j = rnd_next(&s) % (i + 1);
			t = reg[i];
			reg[i] = reg[j];
			reg[j] = t;
		}
	}
	for (i = 0; i < regions; i++) {
		size_t r = reg ? reg[i] : i, first = r * BC_PAGES_PER_FRAME;

		switch (b->work->order) {
		case BO_STRIDE64:
			b->order[n++] = first;
			break;
		case BO_RANDOM64_SPARSE:
			b->order[n++] = first + rnd_next(&s) % BC_PAGES_PER_FRAME;
			break;
		default:
			for (j = 0; j < BC_PAGES_PER_FRAME; j++)
				b->order[n++] = first + j;
		}
	}
	free(reg);
}

static long thread_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_minflt + ru.ru_majflt;
}

/*
 * Touch the pages in order and check each one; the first load of a page
 * is timed alone (that is where it faults), the check is not but counts
 * in the total.  Returns the seconds of the whole pass.
 */
static double read_pass(struct bench *b, size_t *bad)
{
	const uint32_t *order = b->order;
	uint32_t *lat = b->lat_ns;
	double t = bench_now();
	size_t i;

	for (i = 0; i < b->touches; i++) {
		const uint8_t *p = b->data + (size_t)order[i] * BC_PAGE;
		uint64_t t0 = bench_now_ns(), dt;

		(void)*(const volatile uint64_t *)p;
		dt = bench_now_ns() - t0;
		lat[i] = dt > UINT32_MAX ? UINT32_MAX : dt;
		page_check(b, order[i], bad);
	}
	return bench_now() - t;
}

static void integrity_fail(struct bench *b, size_t bad, size_t of)
{
	bench_out_num(b, "bad_pages", bad);
	bench_out_print(b);
	bench_die(BC_EXIT_INTEGRITY, "INTEGRITY: %zu of %zu pages read back wrong",
		  bad, of);
}

/* The same checked read while all is resident: the ceiling. */
void work_resident(struct bench *b)
{
	size_t bad = 0;
	double dt = read_pass(b, &bad);

	if (bad)
		integrity_fail(b, bad, b->touches);
	bench_out_num(b, "resident_gbps", b->touches * BC_PAGE / dt / 1e9);
	bench_out_num(b, "thp_before_pct", bench_smaps_pct(b, "AnonHugePages"));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Of the sorted @v, the value at quantile @q of its last @k. */
static uint32_t top_quantile(const uint32_t *v, size_t n, size_t k, double q)
{
	size_t r = (size_t)(q * k + 0.999999); /* rank, 1-based */

	return v[n - k + (r ? r - 1 : 0)];
}

/*
 * Fault latency: the reading thread took @faults faults, and they are
 * its slowest touches (a fault costs a microsecond or more, a resident
 * touch a fraction of one), the same rule for every system.
 */
static void lat_report(struct bench *b, long faults)
{
	size_t n = b->touches, k = faults < 0 ? 0 : (size_t)faults, i;
	uint32_t *v = malloc(n * sizeof(*v));
	FILE *f;

	if (!v)
		bench_die(BC_EXIT_ERROR, "out of memory");
	memcpy(v, b->lat_ns, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u32);
	bench_out_num(b, "touch_p50_ns", v[n / 2]);
	if (k > n)
		k = n;
	if (k) {
		bench_out_num(b, "lat_p50_ns", top_quantile(v, n, k, 0.5));
		bench_out_num(b, "lat_p99_ns", top_quantile(v, n, k, 0.99));
		bench_out_num(b, "lat_p999_ns", top_quantile(v, n, k, 0.999));
		bench_out_num(b, "lat_max_ns", v[n - 1]);
	}
	if (b->lat_path && k) {
		f = fopen(b->lat_path, "w");
		if (!f)
			bench_die(BC_EXIT_ERROR, "%s: %s", b->lat_path,
				  strerror(errno));
		fprintf(f, "# %s %s: fault latency quantiles of %zu faults: q ns\n",
			b->sys->name, b->work->name, k);
		for (i = 0; i < 100; i++)
			fprintf(f, "%.4f %u\n", i / 100.0,
				top_quantile(v, n, k, i / 100.0));
		for (i = 0; i < sizeof(lat_grid_tail) / sizeof(lat_grid_tail[0]); i++)
			fprintf(f, "%.4f %u\n", lat_grid_tail[i],
				top_quantile(v, n, k, lat_grid_tail[i]));
		if (fclose(f))
			bench_die(BC_EXIT_ERROR, "%s: write failed", b->lat_path);
	}
	free(v);
}

/* The timed read of the evicted data. */
void work_read(struct bench *b)
{
	size_t bad = 0, bytes = b->touches * BC_PAGE;
	long f0 = thread_faults(), faults;
	double dt = read_pass(b, &bad);

	faults = thread_faults() - f0;
	if (bad)
		integrity_fail(b, bad, b->touches);
	bench_out_num(b, "read_s", dt);
	bench_out_num(b, "read_bytes", bytes);
	bench_out_num(b, "gbps", bytes / dt / 1e9);
	bench_out_num(b, "touches", b->touches);
	bench_out_num(b, "faults", faults);
	bench_out_num(b, "thp_after_pct", bench_smaps_pct(b, "AnonHugePages"));
	bench_note(b, "read %zu MiB in %.3f s (%.2f GB/s), %ld faults",
		   bytes >> 20, dt, bytes / dt / 1e9, faults);
	lat_report(b, faults);
}

/* Untimed: check every page the workload did not read (all, for evict_1g). */
void work_verify(struct bench *b)
{
	size_t i, bad = 0;
	double t = bench_now();

	if (!sparse(b) && !b->work->evict_only)
		return;
	for (i = 0; i < b->pages; i++)
		page_check(b, i, &bad);
	if (bad)
		integrity_fail(b, bad, b->pages);
	bench_out_num(b, "verify_s", bench_now() - t);
}
