/* SPDX-License-Identifier: MIT */
/*
 * One benchmark run: bench_run SYSTEM WORKLOAD SIZE [--round N]
 * [--lat FILE] [-v] fills SIZE bytes, takes them away through SYSTEM and
 * reads them back as WORKLOAD says, and prints one JSON line.
 * tests/bench/bench.sh runs it in rounds and reports; tests/bench/README.md
 * says what each figure means.  Exit: 0 done, 1 integrity error, 2 usage,
 * 77 skip, 99 something else broke.
 */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const struct system_ops *const systems[] = {
	&sys_zram, &sys_zswap, &sys_uzswap, &sys_lz4, &sys_uffd,
};
#define N_SYSTEMS (sizeof(systems) / sizeof(systems[0]))

static const char *mode_name = "bench_run";

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void bench_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_run %s: ", mode_name);
	vmsg(code == BC_EXIT_SKIP ? "SKIP: " : "", fmt, ap);
	va_end(ap);
	exit(code);
}

/* Progress on stderr, with -v. */
void bench_note(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "  [%s] ", mode_name);
	vmsg("", fmt, ap);
	va_end(ap);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void out_append(struct bench *b, const char *fmt, const char *key,
		       const void *v, int is_str)
{
	size_t cap = sizeof(b->out) - b->out_len;
	int n = is_str ? snprintf(b->out + b->out_len, cap, fmt, key,
				  (const char *)v)
		       : snprintf(b->out + b->out_len, cap, fmt, key,
				  *(const double *)v);

	if (n < 0 || (size_t)n >= cap)
		bench_die(BC_EXIT_ERROR, "JSON line too long");
	b->out_len += n;
}

/* Append "key":value to the JSON line. */
void bench_out_num(struct bench *b, const char *key, double v)
{
	out_append(b, ",\"%s\":%.10g", key, &v, 0);
}

/* Append "key":"value"; @v must need no escaping (names, numbers). */
void bench_out_str(struct bench *b, const char *key, const char *v)
{
	out_append(b, ",\"%s\":\"%s\"", key, v, 1);
}

void bench_out_print(struct bench *b)
{
	printf("{\"system\":\"%s\",\"workload\":\"%s\",\"round\":%u%s}\n",
	       b->sys->name, b->work->name, b->round, b->out);
	fflush(stdout);
}

/*
 * Sum of a "Field: N kB" of @path: of the VMAs that overlap the data for
 * smaps, of the whole file when @b is NULL.
 */
long bench_proc_kb(const char *path, const char *field, struct bench *b)
{
	uintptr_t s = b ? (uintptr_t)b->data : 0, e = b ? s + b->size : 0;
	FILE *f = fopen(path, "r");
	size_t fl = strlen(field);
	char line[512];
	long sum = 0;
	int in = !b;

	if (!f)
		bench_die(BC_EXIT_ERROR, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		/* a VMA's first line is "lo-hi perms ..." */
		if (b && sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo < e && s < hi;
		else if (in && !strncmp(line, field, fl) && line[fl] == ':')
			sum += atol(line + fl + 1);
	}
	fclose(f);
	return sum;
}

/* Share of the data in @field of /proc/self/smaps, in %. */
double bench_smaps_pct(struct bench *b, const char *field)
{
	return 100.0 * bench_proc_kb("/proc/self/smaps", field, b) * 1024 / b->size;
}

/*
 * @len bytes of anonymous memory.  Shared memory, pre-faulted, for what
 * the read must not fault on: neither MADV_PAGEOUT (which is given the
 * data's range only) nor the agent (private anonymous memory only) takes
 * it away.
 */
void *bench_map(size_t len, int shared)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED | MAP_POPULATE : MAP_PRIVATE) |
			       MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		bench_die(BC_EXIT_ERROR, "mmap %zu bytes: %s", len, strerror(errno));
	return p;
}

/* "64M", "1G", "1073741824" -> bytes, rounded up to whole 2 MB blocks. */
static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	const char *u = *end ? strchr("KMG", toupper((unsigned char)*end)) : NULL;

	if (u)
		v *= 1ul << (10 * (u - "KMG" + 1));
	end += !!u;
	end += strspn(end, "iB"); /* 1GiB, 64MB */
	if (*end || v < 1)
		bench_die(BC_EXIT_USAGE, "bad size '%s'", s);
	return ((size_t)v + BC_BLOCK - 1) & ~(BC_BLOCK - 1);
}

static void usage(void)
{
	size_t i;

	fprintf(stderr, "usage: bench_run SYSTEM WORKLOAD SIZE [--round N] "
			"[--lat FILE] [-v]\n  SYSTEM:");
	for (i = 0; i < N_SYSTEMS; i++)
		fprintf(stderr, " %s", systems[i]->name);
	fprintf(stderr, " (lz4: seq_1g only; uffd, the userfaultfd floor: "
			"stride64_sparse and random64_sparse)\n  WORKLOAD:\n");
	work_list();
	exit(BC_EXIT_USAGE);
}

/* fill, read while resident, take away, read back timed, check the rest */
static void run_standard(struct bench *b)
{
	b->sys->prepare(b);
	data_map(b);
	data_fill(b);
	work_order(b);
	work_resident(b);
	b->sys->evict(b);
	if (!b->work->evict_only) {
		work_read(b);
		if (b->sys->after_read)
			b->sys->after_read(b);
	}
	work_verify(b);
}

int main(int argc, char **argv)
{
	static struct bench b;
	static char name[64];
	size_t i;
	int a;

	if (argc < 4)
		usage();
	for (i = 0; i < N_SYSTEMS && strcmp(argv[1], systems[i]->name); i++)
		;
	if (i == N_SYSTEMS)
		usage();
	b.sys = systems[i];
	b.work = work_find(argv[2]);
	if (!b.work)
		usage();
	snprintf(name, sizeof(name), "%s/%s", b.sys->name, b.work->name);
	mode_name = name;
	b.size = parse_size(argv[3]);
	b.round = 1;
	for (a = 4; a < argc; a++) {
		if (!strcmp(argv[a], "-v"))
			b.verbose = 1;
		else if (!strcmp(argv[a], "--round") && a + 1 < argc)
			b.round = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--lat") && a + 1 < argc)
			b.lat_path = argv[++a];
		else
			usage();
	}
	if (b.sys->run)
		b.sys->run(&b);
	else
		run_standard(&b);
	bench_out_print(&b);
	return 0;
}
