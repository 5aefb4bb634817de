// SPDX-License-Identifier: MIT
/*
 * In-guest benchmark of `make -C kernel bench`: refault of swapped-out THPs.
 *
 *   thp_refault [MiB] [rounds]          (defaults: 512 MiB, 5 rounds)
 *
 * Each round maps MiB of fresh anonymous memory, 2 MB aligned, with
 * MADV_HUGEPAGE, fills it with a pattern, swaps it all out with MADV_PAGEOUT
 * (to zram, set up by /init), then reads it back word by word, checking every
 * word: that read is the timed refault. Around it the round counts the
 * process's faults (getrusage: minflt, majflt) and the /proc/vmstat events
 * (pgfault, pgmajfault, thp_split_pmd, thp_swpin_pmd when the kernel has it,
 * pswpin, ...). One line per round, "round=N key=value ...", for
 * kernel/bench/report.awk.
 *
 * The pattern: in each 64-byte line, the first word is its offset mixed with
 * the round's seed (no two words alike, so a misplaced page is caught), the
 * other seven the page number mixed with the seed: compressible, like real
 * memory rather than random bytes, and never a same-filled page that zram
 * would store without compressing.
 *
 * Exit status: 0 all rounds intact, 1 a bad word or an area that did not
 * swap out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define HPAGE_SIZE (2UL << 20)

static const char *const events[] = {
	"pgfault", "pgmajfault", "pswpin", "pswpout", "thp_fault_alloc",
	"thp_split_pmd", "thp_swpout", "thp_swpout_fallback",
	"thp_swpin_pmd", "thp_swpin_pmd_fallback", "thp_swpout_pmd",
};
#define NR_EVENTS (sizeof(events) / sizeof(events[0]))

/* -1: the kernel has no such counter */
static void read_vmstat(long long val[NR_EVENTS])
{
	char name[64];
	long long v;
	size_t i;
	FILE *f = fopen("/proc/vmstat", "r");

	for (i = 0; i < NR_EVENTS; i++)
		val[i] = -1;
	if (!f) {
		perror("/proc/vmstat");
		exit(1);
	}
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		for (i = 0; i < NR_EVENTS; i++)
			if (!strcmp(name, events[i]))
				val[i] = v;
	fclose(f);
}

/* a field of /proc/self/smaps_rollup, in kB */
static long rollup_kb(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline uint64_t pattern(size_t word, uint64_t seed)
{
	size_t off = word * sizeof(uint64_t);

	if (word % 8 == 0)
		return (off * 0x9e3779b97f4a7c15ULL) ^ seed;
	return ((off >> 12) * 0xc2b2ae3d27d4eb4fULL) ^ seed ^ 0x5555;
}

static int round_run(int round, size_t size)
{
	size_t words = size / sizeof(uint64_t), i, bad = 0;
	uint64_t seed = 0x1234567890abcdefULL * (round + 1);
	long long before[NR_EVENTS], after[NR_EVENTS];
	struct rusage ru0, ru1;
	long huge_before, swap_kb, huge_after, swap_after;
	double t, fill_ms, pageout_ms, refault_ms;
	uint64_t *p;
	char *raw;
	int tries;

	raw = mmap(NULL, size + HPAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p = (uint64_t *)(((uintptr_t)raw + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));
	if (madvise(p, size, MADV_HUGEPAGE)) {
		perror("MADV_HUGEPAGE");
		return 1;
	}

	t = now_ms();
	for (i = 0; i < words; i++)
		p[i] = pattern(i, seed);
	fill_ms = now_ms() - t;
	huge_before = rollup_kb("AnonHugePages");

	/* one call normally swaps it all; retry what reclaim skipped */
	t = now_ms();
	for (tries = 0; tries < 3; tries++) {
		if (madvise(p, size, MADV_PAGEOUT)) {
			perror("MADV_PAGEOUT");
			return 1;
		}
		swap_kb = rollup_kb("Swap");
		if (swap_kb >= (long)(size >> 10))
			break;
	}
	pageout_ms = now_ms() - t;

	read_vmstat(before);
	getrusage(RUSAGE_SELF, &ru0);
	t = now_ms();
	for (i = 0; i < words; i++)
		if (p[i] != pattern(i, seed))
			bad++;
	refault_ms = now_ms() - t;
	getrusage(RUSAGE_SELF, &ru1);
	read_vmstat(after);
	huge_after = rollup_kb("AnonHugePages");
	swap_after = rollup_kb("Swap");

	printf("round=%d mib=%zu fill_ms=%.1f pageout_ms=%.1f refault_ms=%.1f"
	       " minflt=%ld majflt=%ld anon_huge_kb_before=%ld swap_kb=%ld"
	       " anon_huge_kb_after=%ld swap_kb_after=%ld bad_words=%zu",
	       round, size >> 20, fill_ms, pageout_ms, refault_ms,
	       ru1.ru_minflt - ru0.ru_minflt, ru1.ru_majflt - ru0.ru_majflt,
	       huge_before, swap_kb, huge_after, swap_after, bad);
	for (i = 0; i < NR_EVENTS; i++)
		printf(" %s=%lld", events[i],
		       before[i] < 0 || after[i] < 0 ? -1 : after[i] - before[i]);
	printf("\n");
	fflush(stdout);

	munmap(raw, size + HPAGE_SIZE);
	if (bad) {
		fprintf(stderr, "round %d: %zu bad words\n", round, bad);
		return 1;
	}
	if (swap_kb < (long)(size >> 10) / 2) {
		fprintf(stderr, "round %d: only %ld kB of %zu swapped out\n",
			round, swap_kb, size >> 10);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 512;
	int rounds = argc > 2 ? atoi(argv[2]) : 5, r, err = 0;

	if (!mib || mib % 2 || rounds < 1) {
		fprintf(stderr, "usage: %s [MiB, even] [rounds]\n", argv[0]);
		return 2;
	}
	printf("# thp_refault: %zu MiB, %d rounds, page size %ld\n", mib, rounds,
	       sysconf(_SC_PAGESIZE));
	for (r = 1; r <= rounds; r++)
		err |= round_run(r, mib << 20);
	return err;
}
