// SPDX-License-Identifier: MIT
/*
 * thp_swap_baseline - swap 64 MB of PMD-mapped THPs out with MADV_PAGEOUT and
 * read them back, checking every byte and the vmstat counters.
 *
 * On a stock 6.12 kernel the data survives but the huge mappings do not:
 * reclaim splits each PMD into 512 PTE swap entries (thp_split_pmd goes up)
 * and swap-in brings the memory back as 4 KB pages (AnonHugePages drops to
 * 0). The test reports that as diagnostics. On a kernel with uzswap's PMD
 * swap entry series, which adds the vmstat counter "thp_swpin_pmd", it also
 * asserts that the huge mappings survive: no split, one PMD swap-in per THP,
 * AnonHugePages back to 64 MB. Without that counter the assertion is a SKIP.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ksft.h"

#define AREA_SIZE	(64UL << 20)
#define PMD_SIZE	(2UL << 20)
#define NR_THPS		(AREA_SIZE / PMD_SIZE)
#define NR_PAGES	(AREA_SIZE / 4096)
#define AREA_KB		(AREA_SIZE >> 10)
#define SEED		0x75a5c0de00000000ULL

/* the counter the patched kernel adds; its presence selects the assertions */
#define PMD_SWPIN_COUNTER "thp_swpin_pmd"

enum { C_THP_SWPOUT, C_THP_SWPOUT_FALLBACK, C_THP_SPLIT_PMD, C_PSWPOUT,
       C_PSWPIN, C_THP_SWPOUT_PMD, C_THP_SWPIN_PMD, C_NR };

static const char *const counter_names[C_NR] = {
	"thp_swpout", "thp_swpout_fallback", "thp_split_pmd", "pswpout",
	"pswpin", "thp_swpout_pmd", PMD_SWPIN_COUNTER,
};

/* read the counters we care about; -1 for one the kernel does not have */
static void vmstat_read(long long v[C_NR])
{
	char name[64];
	long long val;
	FILE *f;
	int i;

	for (i = 0; i < C_NR; i++)
		v[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &val) == 2)
		for (i = 0; i < C_NR; i++)
			if (!strcmp(name, counter_names[i]))
				v[i] = val;
	fclose(f);
}

/* one smaps field (in kB) of the mapping that contains addr, -1 if absent */
static long smaps_kb(const void *addr, const char *field)
{
	unsigned long start, end, a = (unsigned long)addr;
	size_t flen = strlen(field);
	char line[512];
	int inside = 0;
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= start && a < end;
			continue;
		}
		if (inside && !strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a 2 MB-aligned private anonymous area with MADV_HUGEPAGE */
static uint64_t *map_thp_area(void)
{
	size_t len = AREA_SIZE + PMD_SIZE;
	char *p, *a;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((unsigned long)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + AREA_SIZE, p + len - (a + AREA_SIZE));
	if (madvise(a, AREA_SIZE, MADV_HUGEPAGE)) {
		munmap(a, AREA_SIZE);
		return NULL;
	}
	return (uint64_t *)a;
}

/*
 * Every 8-byte word holds its own offset mixed with a seed: no page is zero-
 * or same-filled (those never reach the swap device), and every misplaced
 * page is caught.
 */
static inline uint64_t pattern(size_t i)
{
	return SEED ^ (i * 8);
}

static void fill(uint64_t *a)
{
	size_t i;

	for (i = 0; i < AREA_SIZE / 8; i++)
		a[i] = pattern(i);
}

/* number of wrong words; the first one is reported */
static size_t verify(const uint64_t *a)
{
	size_t i, bad = 0;

	for (i = 0; i < AREA_SIZE / 8; i++) {
		if (a[i] == pattern(i))
			continue;
		if (!bad++)
			ksft_print_msg("first mismatch at offset %#zx: %#llx, want %#llx\n",
				       i * 8, (unsigned long long)a[i],
				       (unsigned long long)pattern(i));
	}
	return bad;
}

static long long delta(const long long after[C_NR], const long long before[C_NR], int c)
{
	if (after[c] < 0 || before[c] < 0)
		return -1;
	return after[c] - before[c];
}

static void print_deltas(const char *phase, const long long after[C_NR],
			 const long long before[C_NR])
{
	int c;

	for (c = 0; c < C_NR; c++)
		if (after[c] >= 0)
			ksft_print_msg("%s: %s +%lld\n", phase, counter_names[c],
				       delta(after, before, c));
}

int main(void)
{
	long long v0[C_NR], v1[C_NR], v2[C_NR];
	long thp_before, thp_after, swap_kb;
	char buf[128];
	double t;
	size_t bad;
	uint64_t *a;

	ksft_print_header();
	ksft_set_plan(5);

	if (read_sysfs("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)))
		ksft_exit_skip_rest("kernel without transparent huge pages");
	if (strstr(buf, "[never]"))
		ksft_exit_skip_rest("transparent_hugepage is [never]");
	if (read_sysfs("/proc/swaps", buf, sizeof(buf)) || !buf[0])
		ksft_exit_skip_rest("no /proc/swaps");
	vmstat_read(v0);
	if (v0[C_THP_SPLIT_PMD] < 0 || v0[C_PSWPOUT] < 0)
		ksft_exit_skip_rest("no vmstat event counters (CONFIG_VM_EVENT_COUNTERS)");
	if (!read_sysfs("/sys/module/zswap/parameters/enabled", buf, sizeof(buf)))
		ksft_print_msg("zswap enabled: %s\n", buf);

	a = map_thp_area();
	if (!a)
		ksft_exit_fail_msg("mmap/madvise(MADV_HUGEPAGE) of 64 MB: %s", strerror(errno));

	/* 1: the area is PMD-mapped THPs */
	t = now();
	fill(a);
	thp_before = smaps_kb(a, "AnonHugePages");
	ksft_print_msg("fill: %.3f s, AnonHugePages %ld kB\n", now() - t, thp_before);
	ksft_test_result(thp_before == (long)AREA_KB,
			 "64 MB area is THP-backed before swap-out (%ld kB)", thp_before);

	/* 2: MADV_PAGEOUT takes all of it to swap */
	vmstat_read(v0);
	t = now();
	if (madvise(a, AREA_SIZE, MADV_PAGEOUT))
		ksft_exit_fail_msg("madvise(MADV_PAGEOUT): %s", strerror(errno));
	vmstat_read(v1);
	swap_kb = smaps_kb(a, "Swap");
	ksft_print_msg("pageout: %.3f s, Swap %ld kB, AnonHugePages %ld kB\n",
		       now() - t, swap_kb, smaps_kb(a, "AnonHugePages"));
	print_deltas("pageout", v1, v0);
	ksft_test_result(swap_kb == (long)AREA_KB &&
			 delta(v1, v0, C_PSWPOUT) >= (long long)NR_PAGES,
			 "MADV_PAGEOUT swapped out all 64 MB (Swap %ld kB, pswpout +%lld)",
			 swap_kb, delta(v1, v0, C_PSWPOUT));

	/* 3: every byte comes back */
	t = now();
	bad = verify(a);
	vmstat_read(v2);
	ksft_print_msg("read back: %.3f s\n", now() - t);
	print_deltas("swap-in", v2, v1);
	ksft_test_result(bad == 0, "contents intact after swap-in (%zu bad words)", bad);

	/* 4: and it came back from swap, not from somewhere else */
	swap_kb = smaps_kb(a, "Swap");
	ksft_test_result(swap_kb == 0 && delta(v2, v1, C_PSWPIN) >= (long long)NR_PAGES,
			 "area swapped back in (Swap %ld kB, pswpin +%lld)",
			 swap_kb, delta(v2, v1, C_PSWPIN));

	/* 5: the huge mappings: split on stock 6.12, kept with the series */
	thp_after = smaps_kb(a, "AnonHugePages");
	ksft_print_msg("AnonHugePages %ld kB before swap-out, %ld kB after swap-in\n",
		       thp_before, thp_after);
	ksft_print_msg("PMDs split during swap-out/in: %lld of %lu THPs\n",
		       delta(v2, v0, C_THP_SPLIT_PMD), NR_THPS);
	if (v2[C_THP_SWPIN_PMD] < 0) {
		if (delta(v2, v0, C_THP_SPLIT_PMD) > 0 && thp_after == 0)
			ksft_print_msg("stock behaviour: PMDs split on swap-out, memory back as 4 KB pages\n");
		ksft_test_result_skip("kernel has no " PMD_SWPIN_COUNTER " (no PMD swap entries)",
				      "huge mappings kept across swap-out/in");
	} else {
		long long split = delta(v2, v0, C_THP_SPLIT_PMD);
		long long pmd_in = delta(v2, v1, C_THP_SWPIN_PMD);

		ksft_test_result(split == 0 && pmd_in == (long long)NR_THPS &&
				 thp_after == (long)AREA_KB,
				 "huge mappings kept across swap-out/in (split +%lld, "
				 PMD_SWPIN_COUNTER " +%lld, AnonHugePages %ld kB)",
				 split, pmd_in, thp_after);
	}

	munmap(a, AREA_SIZE);
	ksft_finished();
}
