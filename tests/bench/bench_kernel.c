/* SPDX-License-Identifier: MIT */
/*
 * The kernel's compressed swap, as bench.sh set it up: zram as the swap
 * device, or zswap in front of a swap file.  Pages go out with
 * MADV_PAGEOUT (cgroup v1 here: no memory.reclaim).
 */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define ZSWAP_PARAM "/sys/module/zswap/parameters/"
#define ZSWAP_DEBUGFS "/sys/kernel/debug/zswap/pool_total_size"

/* b->kernel0[]: counters before the run, for the deltas */
enum { K_POOL, K_ZSWAPPED_KB, K_ZSWPOUT, K_ZSWPWB, K_ZSWPIN, K_THP_SWPOUT,
       K_THP_FALLBACK };

static char swap_dev[256]; /* the swap pages go to */

/* The active swap with the highest priority: where MADV_PAGEOUT sends. */
static void swap_top(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[512], dev[256];
	int prio, best = -1000000;

	if (!f)
		bench_die(BC_EXIT_SKIP, "no /proc/swaps: %s", strerror(errno));
	swap_dev[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %*s %*s %*s %d", dev, &prio) == 2 &&
		    prio > best) {
			best = prio;
			snprintf(swap_dev, sizeof(swap_dev), "%s", dev);
		}
	fclose(f);
	if (!swap_dev[0])
		bench_die(BC_EXIT_SKIP, "no swap active; tests/bench/bench.sh "
					"sets one up for each run");
}

/* The first word of a one-line file, or "" */
static void read_word(const char *path, char w[64])
{
	FILE *f = fopen(path, "r");

	w[0] = 0;
	if (f) {
		if (fscanf(f, "%63s", w) != 1)
			w[0] = 0;
		fclose(f);
	}
}

static int zswap_enabled(void)
{
	char w[64];

	read_word(ZSWAP_PARAM "enabled", w);
	return w[0] == 'Y' || w[0] == '1';
}

/* One counter of /proc/vmstat, 0 when absent */
static double vmstat(const char *key)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char k[64];
	double v, r = 0;

	if (!f)
		return 0;
	while (fscanf(f, "%63s %lf", k, &v) == 2)
		if (!strcmp(k, key)) {
			r = v;
			break;
		}
	fclose(f);
	return r;
}

/*
 * zswap's compressed pool, in bytes: debugfs when it is there (bench.sh
 * mounts it), else Zswap: of /proc/meminfo, which counts the same pages.
 * Both are global: another process's swapped pages would count too.
 */
static double zswap_pool(int *from_debugfs)
{
	FILE *f = fopen(ZSWAP_DEBUGFS, "r");
	double v;

	if (f && fscanf(f, "%lf", &v) == 1) {
		fclose(f);
		*from_debugfs = 1;
		return v;
	}
	if (f)
		fclose(f);
	*from_debugfs = 0;
	return bench_proc_kb("/proc/meminfo", "Zswap", NULL) * 1024.0;
}

static void kernel_baseline(struct bench *b)
{
	b->kernel0[K_THP_SWPOUT] = vmstat("thp_swpout");
	b->kernel0[K_THP_FALLBACK] = vmstat("thp_swpout_fallback");
}

static void zram_prepare(struct bench *b)
{
	swap_top();
	if (strncmp(swap_dev, "/dev/zram", 9))
		bench_die(BC_EXIT_SKIP, "the highest-priority swap is %s, not zram",
			  swap_dev);
	/* it would take the pages before they reach zram */
	if (zswap_enabled())
		bench_die(BC_EXIT_SKIP, "zswap is enabled: pages would go to "
					"zswap, not to %s", swap_dev);
	kernel_baseline(b);
}

static void zswap_prepare(struct bench *b)
{
	char comp[64];
	int dbg;

	swap_top();
	if (!strncmp(swap_dev, "/dev/zram", 9))
		bench_die(BC_EXIT_SKIP, "the highest-priority swap is %s: zswap "
					"needs a swap file or disk behind it",
			  swap_dev);
	if (!zswap_enabled())
		bench_die(BC_EXIT_SKIP, "zswap is not enabled (%senabled)",
			  ZSWAP_PARAM);
	read_word(ZSWAP_PARAM "compressor", comp);
	bench_out_str(b, "zswap_compressor", comp);
	b->kernel0[K_POOL] = zswap_pool(&dbg);
	bench_out_str(b, "zswap_pool_src", dbg ? "debugfs" : "meminfo");
	b->kernel0[K_ZSWAPPED_KB] = bench_proc_kb("/proc/meminfo", "Zswapped", NULL);
	b->kernel0[K_ZSWPOUT] = vmstat("zswpout");
	b->kernel0[K_ZSWPWB] = vmstat("zswpwb");
	b->kernel0[K_ZSWPIN] = vmstat("zswpin");
	kernel_baseline(b);
}

/*
 * MADV_PAGEOUT over the data, repeated up to 4 times until at most 0.1%
 * of it is resident: reclaim can leave some pages (busy, raced LRU
 * isolation).  More than 1% left is an error.  Out means not in Rss: a
 * THP the kernel has to split to swap it (a disk that says it is
 * rotational takes no THP) has its zero pages mapped to the shared zero
 * page, which is neither Rss nor Swap.
 */
static void pageout(struct bench *b)
{
	double t = bench_now(), dt, out_pct = 0;
	int tries;

	for (tries = 1; tries <= 4; tries++) {
		if (madvise(b->data, b->size, MADV_PAGEOUT))
			bench_die(BC_EXIT_ERROR, "MADV_PAGEOUT: %s", strerror(errno));
		out_pct = 100 - bench_smaps_pct(b, "Rss");
		if (out_pct >= 99.9)
			break;
	}
	dt = bench_now() - t;
	bench_out_num(b, "evict_s", dt);
	bench_out_num(b, "evict_gbps", b->size / dt / 1e9);
	bench_out_num(b, "pageout_tries", tries > 4 ? 4 : tries);
	bench_out_num(b, "out_pct", out_pct);
	bench_out_num(b, "swap_pct", bench_smaps_pct(b, "Swap"));
	bench_out_num(b, "thp_swpout", vmstat("thp_swpout") - b->kernel0[K_THP_SWPOUT]);
	bench_out_num(b, "thp_swpout_fallback",
		      vmstat("thp_swpout_fallback") - b->kernel0[K_THP_FALLBACK]);
	bench_out_num(b, "swapcached_kb",
		      bench_proc_kb("/proc/meminfo", "SwapCached", NULL));
	bench_note(b, "paged out %.1f%% to %s in %.2f s", out_pct, swap_dev, dt);
	if (out_pct < 99)
		bench_die(BC_EXIT_ERROR, "%.1f%% of the data is still resident "
					 "after MADV_PAGEOUT (%s)",
			  100 - out_pct, swap_dev);
}

static void zram_evict(struct bench *b)
{
	char path[300];
	double mm[3];
	FILE *f;

	pageout(b);
	/* orig_data_size, compr_data_size, mem_used_total */
	snprintf(path, sizeof(path), "/sys/block/%s/mm_stat", swap_dev + 5);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lf %lf %lf", &mm[0], &mm[1], &mm[2]) != 3)
		bench_die(BC_EXIT_ERROR, "cannot read %s", path);
	fclose(f);
	bench_out_num(b, "zram_orig_bytes", mm[0]);
	bench_out_num(b, "zram_compr_bytes", mm[1]);
	bench_out_num(b, "pool_bytes", mm[2]);
	if (mm[1] > 0)
		bench_out_num(b, "ratio", mm[0] / mm[1]);
}

static void zswap_evict(struct bench *b)
{
	double pool, stored;
	int dbg;

	pageout(b);
	pool = zswap_pool(&dbg) - b->kernel0[K_POOL];
	/* Zswapped: the uncompressed size of what is in the pool; the rest
	 * of what went out was rejected (did not compress) or written back,
	 * and is on the swap file */
	stored = (bench_proc_kb("/proc/meminfo", "Zswapped", NULL) -
		  b->kernel0[K_ZSWAPPED_KB]) * 1024;
	bench_out_num(b, "pool_bytes", pool);
	bench_out_num(b, "zswap_stored_bytes", stored);
	bench_out_num(b, "zswap_in_pool_pct", 100 * stored / b->size);
	if (pool > 0)
		bench_out_num(b, "ratio", stored / pool);
	bench_out_num(b, "zswpout", vmstat("zswpout") - b->kernel0[K_ZSWPOUT]);
	bench_out_num(b, "zswpwb", vmstat("zswpwb") - b->kernel0[K_ZSWPWB]);
}

static void zswap_after_read(struct bench *b)
{
	bench_out_num(b, "zswpin", vmstat("zswpin") - b->kernel0[K_ZSWPIN]);
}

const struct system_ops sys_zram = {
	.name = "zram",
	.prepare = zram_prepare,
	.evict = zram_evict,
};

const struct system_ops sys_zswap = {
	.name = "zswap",
	.prepare = zswap_prepare,
	.evict = zswap_evict,
	.after_read = zswap_after_read,
};
