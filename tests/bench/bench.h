/* SPDX-License-Identifier: MIT */
/* The benchmark's one run (bench_run): what its files share. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BC_PAGE 4096ul
#define BC_BLOCK (2ul << 20)
#define BC_FRAME (64ul << 10)
#define BC_PAGES_PER_FRAME (BC_FRAME / BC_PAGE)
#define BC_FRAMES_PER_BLOCK (BC_BLOCK / BC_FRAME)
#define BC_MAGIC 0x484342507a77737aull /* "zswzPBCH" */
#define BC_MAX_BAD 8		       /* bad pages reported in full */

enum { BC_EXIT_INTEGRITY = 1, BC_EXIT_USAGE = 2, BC_EXIT_SKIP = 77,
       BC_EXIT_ERROR = 99 };

/* What the pages hold. */
enum bench_data {
	BD_TEXT,	 /* header + text-like records: lz4 about 3x */
	BD_ZERO,	 /* all zero */
	BD_INCOMPRESSIBLE, /* header + random bytes */
};

/* The order in which the read touches pages (4 KB) of 64 KB regions. */
enum bench_order {
	BO_SEQ,		  /* every page, in address order */
	BO_STRIDE64,	  /* the first page of each 64 KB region, in order */
	BO_RANDOM64_SPARSE, /* one random page of each region, regions shuffled */
	BO_RANDOM64_FULL, /* every page; regions shuffled, pages in order */
};

struct workload {
	const char *name;
	enum bench_data data;
	enum bench_order order;
	int hint_seq;	/* MADV_SEQUENTIAL, and uzswap_hint() when present */
	int evict_only; /* the eviction is the figure (evict_1g) */
	const char *what;
};

struct bench;

/* A system that takes memory away and gives it back (ops per system). */
struct system_ops {
	const char *name;
	/* checks the machine is set up for it (exits 77 if not); baselines */
	void (*prepare)(struct bench *b);
	/* takes all the data away: evict_s, out_pct, pool_bytes, ratio */
	void (*evict)(struct bench *b);
	/* counters after the timed read (may be NULL) */
	void (*after_read)(struct bench *b);
	/* a run of its own instead of fill/evict/read (lz4) */
	void (*run)(struct bench *b);
};

struct bench {
	const struct system_ops *sys;
	const struct workload *work;
	size_t size;  /* bytes, whole 2 MB blocks */
	size_t pages;
	uint8_t *data;	/* 2 MB-aligned, private anonymous, MADV_HUGEPAGE */
	uint64_t *csum; /* expected body checksum per page (shared memory) */
	uint64_t gen;	/* this run's id, in every page header */
	unsigned round;
	int verbose;
	const char *lat_path; /* fault-latency quantiles go there */
	uint32_t *order;      /* page numbers in touch order (shared memory) */
	size_t touches;
	uint32_t *lat_ns; /* time of each touch, in order (shared memory) */
	double kernel0[8]; /* kernel counters before the run (bench_kernel.c) */
	char out[8192];	   /* the JSON line being built */
	size_t out_len;
};

/* Inline: the read times every touch with it (vDSO, ~40 ns here). */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* bench_main.c: output, errors, /proc */
__attribute__((format(printf, 2, 3), noreturn)) void
bench_die(int code, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void bench_note(struct bench *b,
						      const char *fmt, ...);
double bench_now(void);
void bench_out_num(struct bench *b, const char *key, double v);
void bench_out_str(struct bench *b, const char *key, const char *v);
void bench_out_print(struct bench *b);
long bench_proc_kb(const char *path, const char *field, struct bench *b);
double bench_smaps_pct(struct bench *b, const char *field);
void *bench_map(size_t len, int shared);

/* bench_data.c: the data and its checks */
void data_map(struct bench *b);
void data_fill(struct bench *b);
int page_check(struct bench *b, size_t i, size_t *bad);
uint64_t rnd_next(uint64_t *s);

/* bench_work.c: the workloads */
const struct workload *work_find(const char *name);
void work_list(void);
void work_order(struct bench *b);
void work_resident(struct bench *b);
void work_read(struct bench *b);
void work_verify(struct bench *b);

/* bench_kernel.c, bench_uzswap.c, bench_lz4.c, bench_uffd.c: the systems */
extern const struct system_ops sys_zram, sys_zswap, sys_uzswap, sys_lz4,
	sys_uffd;

#endif
