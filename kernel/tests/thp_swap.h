/* SPDX-License-Identifier: MIT */
/*
 * thp_swap.h - what the PMD swap entry tests share: /proc/vmstat counters
 * by name, smaps and meminfo fields, a 2 MB-aligned MADV_HUGEPAGE area,
 * a pattern that catches any misplaced or zeroed page, MADV_PAGEOUT, and
 * the check that the kernel has PMD swap entries at all (the stock kernel
 * has no thp_swpout_pmd counter: every test then skips).
 */
#ifndef UZ_THP_SWAP_H
#define UZ_THP_SWAP_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

#include "ksft.h"

#define PMD_SIZE	(2UL << 20)
#define PAGE_SZ		4096UL
#define NR_SUB		(PMD_SIZE / PAGE_SZ)
#define SWAPDEV		"/dev/zram0"	/* the guest's swap (initramfs/init) */

/* a counter by name; -1 when the kernel does not have it */
static inline long long vmstat(const char *want)
{
	char name[64];
	long long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &val) == 2)
		if (!strcmp(name, want)) {
			ret = val;
			break;
		}
	fclose(f);
	return ret;
}

/* the counters every test point looks at, read together */
enum { V_SWPOUT_PMD, V_SWPOUT_PMD_FB, V_SWPIN_PMD, V_SWPIN_PMD_FB,
       V_SWPOFF_PMD, V_MOVE_SWAP_PMD, V_SPLIT_PMD, V_THP_SWPOUT,
       V_THP_SWPOUT_FB, V_PSWPIN, V_PSWPOUT, V_NR };

static const char *const v_names[V_NR] = {
	"thp_swpout_pmd", "thp_swpout_pmd_fallback", "thp_swpin_pmd",
	"thp_swpin_pmd_fallback", "thp_swpoff_pmd", "thp_move_swap_pmd",
	"thp_split_pmd", "thp_swpout", "thp_swpout_fallback", "pswpin",
	"pswpout",
};

struct vm_snap {
	long long v[V_NR];
};

static inline void snap(struct vm_snap *s)
{
	char name[64];
	long long val;
	FILE *f;
	int i;

	for (i = 0; i < V_NR; i++)
		s->v[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &val) == 2)
		for (i = 0; i < V_NR; i++)
			if (!strcmp(name, v_names[i]))
				s->v[i] = val;
	fclose(f);
}

static inline long long d(const struct vm_snap *a, const struct vm_snap *b, int i)
{
	return b->v[i] - a->v[i];
}

/* "# what: name +n ..." for every counter that moved */
static inline void print_snap_delta(const char *what, const struct vm_snap *a,
			     const struct vm_snap *b)
{
	char line[512];
	size_t n = 0;
	int i;

	line[0] = 0;
	for (i = 0; i < V_NR; i++)
		if (d(a, b, i) && n < sizeof(line) - 64)
			n += snprintf(line + n, sizeof(line) - n, " %s +%lld",
				      v_names[i], d(a, b, i));
	ksft_print_msg("%s:%s\n", what, n ? line : " no counter moved");
}

/* one smaps field (kB) of the mapping that contains addr; -1 if absent */
static inline long smaps_kb(const void *addr, const char *field)
{
	unsigned long start, end, a = (unsigned long)addr;
	size_t flen = strlen(field);
	char line[512];
	int inside = 0;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

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

/* one /proc/meminfo field in kB, -1 if absent */
static inline long meminfo_kb(const char *field)
{
	size_t flen = strlen(field);
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static inline int read_file(const char *path, char *buf, size_t len)
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

static inline void swapoff_alarm(int sig)
{
	(void)sig;
}

/*
 * swapoff(@dev), given up after @secs: a slot whose count never drops to
 * zero (a reference leaked) keeps swapoff looping until a signal comes.
 * 0, or -1 said why (EINTR: not done in time).
 */
static inline int swapoff_within(const char *dev, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = swapoff_alarm }, old;
	int rc, err;

	/* no SA_RESTART: the alarm ends the swapoff with EINTR */
	sigaction(SIGALRM, &sa, &old);
	alarm(secs);
	rc = swapoff(dev);
	err = errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (rc && err == EINTR)
		ksft_print_msg("swapoff(%s) not done after %u s: a slot still referenced\n",
			       dev, secs);
	else if (rc)
		ksft_print_msg("swapoff(%s): %s\n", dev, strerror(err));
	errno = err;
	return rc;
}

/* a 2 MB-aligned private anonymous area of len bytes, MADV_HUGEPAGE */
static inline void *map_thp(size_t len)
{
	size_t span = len + PMD_SIZE;
	char *p, *a;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((unsigned long)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + span - (a + len));
	if (madvise(a, len, MADV_HUGEPAGE)) {
		munmap(a, len);
		return NULL;
	}
	return a;
}

/* every 8-byte word: its offset mixed with a seed; no page zero or same-filled */
static inline uint64_t pat(uint64_t seed, size_t i)
{
	return seed ^ (i * 8) ^ ((uint64_t)i << 40);
}

static inline void fill(void *area, size_t len, uint64_t seed)
{
	uint64_t *a = area;
	size_t i;

	for (i = 0; i < len / 8; i++)
		a[i] = pat(seed, i);
}

/*
 * Wrong words in [area, area + len) against the pattern of seed, word 0
 * being word 'first' of the pattern; the first one is reported.
 */
static inline size_t check_from(const void *area, size_t len, uint64_t seed,
			 size_t first, const char *what)
{
	const uint64_t *a = area;
	size_t i, bad = 0;

	for (i = 0; i < len / 8; i++) {
		if (a[i] == pat(seed, first + i))
			continue;
		if (!bad++)
			ksft_print_msg("%s: first mismatch at +%#zx: %#llx, want %#llx\n",
				       what, i * 8, (unsigned long long)a[i],
				       (unsigned long long)pat(seed, first + i));
	}
	if (bad)
		ksft_print_msg("%s: %zu bad words\n", what, bad);
	return bad;
}

static inline size_t check(const void *area, size_t len, uint64_t seed, const char *what)
{
	return check_from(area, len, seed, 0, what);
}

/* nonzero words in [area, area + len) */
static inline size_t nonzero(const void *area, size_t len)
{
	const uint64_t *a = area;
	size_t i, n = 0;

	for (i = 0; i < len / 8; i++)
		n += a[i] != 0;
	return n;
}

static inline int pageout(void *area, size_t len)
{
	if (madvise(area, len, MADV_PAGEOUT)) {
		ksft_print_msg("madvise(MADV_PAGEOUT): %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* map_thp(@len) filled from @seed and checked THP-backed; NULL, said why */
static inline char *thp_area(size_t len, uint64_t seed)
{
	char *a = map_thp(len);
	long thp;

	if (!a) {
		ksft_print_msg("mmap of %zu MB: %s\n", len >> 20, strerror(errno));
		return NULL;
	}
	fill(a, len, seed);
	thp = smaps_kb(a, "AnonHugePages");
	if (thp != (long)(len >> 10)) {
		ksft_print_msg("area not THP-backed: AnonHugePages %ld kB\n", thp);
		munmap(a, len);
		return NULL;
	}
	return a;
}

/* thp_area() paged out, with vmstat snapshots around the MADV_PAGEOUT */
static inline char *thp_area_paged_out(size_t len, uint64_t seed,
				       struct vm_snap *s0, struct vm_snap *s1)
{
	char *a = thp_area(len, seed);

	if (!a)
		return NULL;
	snap(s0);
	if (pageout(a, len)) {
		munmap(a, len);
		return NULL;
	}
	snap(s1);
	return a;
}

/* swapped out as len / PMD_SIZE PMD swap entries, nothing split */
static inline int out_as_pmds(const char *a, size_t len, const struct vm_snap *s0,
			      const struct vm_snap *s1)
{
	long swap = smaps_kb(a, "Swap");
	long long nr = len / PMD_SIZE;

	if (d(s0, s1, V_SWPOUT_PMD) == nr && d(s0, s1, V_SPLIT_PMD) == 0 &&
	    swap == (long)(len >> 10))
		return 1;
	ksft_print_msg("swap-out: thp_swpout_pmd +%lld (want %lld), thp_split_pmd +%lld, Swap %ld kB\n",
		       d(s0, s1, V_SWPOUT_PMD), nr, d(s0, s1, V_SPLIT_PMD), swap);
	return 0;
}

/* a THP-backed area from @seed, swapped out as PMD swap entries; NULL,
 * said why, if any step went otherwise */
static inline char *swapped_area(size_t len, uint64_t seed)
{
	struct vm_snap s0, s1;
	char *a = thp_area_paged_out(len, seed, &s0, &s1);

	if (a && !out_as_pmds(a, len, &s0, &s1)) {
		munmap(a, len);
		return NULL;
	}
	return a;
}

/* 1 when a THP paged out leaves a PMD swap entry (thp_swpout_pmd moves) */
static inline int makes_pmd_swap_entries(void)
{
	struct vm_snap s0, s1;
	char *a = thp_area(PMD_SIZE, 0x9e0be);

	if (!a)
		ksft_exit_skip_rest("no THP to be had for a probe");
	snap(&s0);
	pageout(a, PMD_SIZE);
	snap(&s1);
	munmap(a, PMD_SIZE);
	return d(&s0, &s1, V_SWPOUT_PMD) > 0;
}

/*
 * Skip the whole test, with a reason, on a kernel that cannot show what
 * it is about: no THP, no swap, no event counters, or no PMD swap entries
 * (the stock kernel: no thp_swpout_pmd).
 */
static inline void require_pmd_swap(void)
{
	char buf[256];
	FILE *f;
	int lines = 0;

	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)))
		ksft_exit_skip_rest("kernel without transparent huge pages");
	if (strstr(buf, "[never]"))
		ksft_exit_skip_rest("transparent_hugepage is [never]");
	f = fopen("/proc/swaps", "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			lines++;
		fclose(f);
	}
	if (lines < 2)
		ksft_exit_skip_rest("no swap device");
	if (vmstat("thp_split_pmd") < 0)
		ksft_exit_skip_rest("no vmstat event counters");
	if (vmstat("thp_swpout_pmd") < 0)
		ksft_exit_skip_rest("kernel has no thp_swpout_pmd (no PMD swap entries)");
	if (!read_file("/sys/module/zswap/parameters/enabled", buf, sizeof(buf)) &&
	    buf[0] == 'Y')
		ksft_exit_skip_rest("zswap is enabled (PMD swap entries fall back)");
	/* the series before its last patch: the counters, but no producer */
	if (!makes_pmd_swap_entries())
		ksft_exit_skip_rest("kernel makes no PMD swap entry (a THP paged out: thp_swpout_pmd +0)");
}

/*
 * The kernel log from now on: a /dev/kmsg reader at its end. Lines it
 * reads later that say something went wrong are counted by klog_trouble().
 */
static inline int klog_from_now(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static inline long klog_trouble(int fd)
{
	char rec[8192];
	long n = 0;
	ssize_t len;

	if (fd < 0)
		return 0;
	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (len <= 0)
			break;
		rec[len] = 0;
		/* "Bad swap"/"Unused swap": a slot freed too often (swapfile.c) */
		n += strstr(rec, "BUG:") || strstr(rec, "WARNING:") ||
		     strstr(rec, "Bad page") || strstr(rec, "Bad swap") ||
		     strstr(rec, "Unused swap");
	}
	close(fd);
	return n;
}

/*
 * Where a test point starts from, to show it left nothing behind: the
 * kernel log from now on, and AnonHugePages (every THP it made freed).
 */
struct clean_mark {
	int klog;
	long thp_kb;
};

static inline struct clean_mark clean_mark(void)
{
	struct clean_mark m = { klog_from_now(), meminfo_kb("AnonHugePages") };

	return m;
}

/* 1 when the kernel logged no trouble since @m and AnonHugePages is back
 * where it was; else 0, said why. Ends @m's log reader. */
static inline int clean_since(struct clean_mark m)
{
	long trouble = klog_trouble(m.klog), thp = meminfo_kb("AnonHugePages");

	if (trouble)
		ksft_print_msg("the kernel logged %ld BUG/WARNING/Bad page/swap lines\n",
			       trouble);
	if (thp != m.thp_kb)
		ksft_print_msg("AnonHugePages %ld kB before, %ld kB after\n",
			       m.thp_kb, thp);
	return !trouble && thp == m.thp_kb;
}

#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc/"

/*
 * fail_page_alloc set to fail, for the tasks that have make-it-fail set,
 * every page allocation of order @min_order or more, or (@atomic_only)
 * only those that may not sleep; nonzero if it cannot be (no
 * CONFIG_FAIL_PAGE_ALLOC). Writing 0 to its probability turns it off.
 */
static inline int fail_page_alloc_tasks(const char *min_order, int atomic_only)
{
	if (access(FAIL_PAGE_ALLOC "probability", W_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return write_file(FAIL_PAGE_ALLOC "task-filter", "Y") ||
	       write_file(FAIL_PAGE_ALLOC "min-order", min_order) ||
	       write_file(FAIL_PAGE_ALLOC "ignore-gfp-wait", atomic_only ? "Y" : "N") ||
	       write_file(FAIL_PAGE_ALLOC "ignore-gfp-highmem", "N") ||
	       write_file(FAIL_PAGE_ALLOC "verbose", "0") ||
	       write_file(FAIL_PAGE_ALLOC "interval", "1") ||
	       write_file(FAIL_PAGE_ALLOC "times", "-1") ||
	       write_file(FAIL_PAGE_ALLOC "space", "0") ||
	       write_file(FAIL_PAGE_ALLOC "probability", "100");
}

/* every order >= 9 allocation of the make-it-fail tasks fails (on), or none */
static inline int fail_pmd_order_tasks(int on)
{
	if (!on)
		return write_file(FAIL_PAGE_ALLOC "probability", "0");
	return fail_page_alloc_tasks("9", 0);
}

/*
 * One per-CPU swap slot cache, kB (mm/swap_slots.c): each CPU has one of
 * slots taken for later allocations and one of freed slots not yet given
 * back, 64 each; /proc/swaps counts both as used, a memcg's swap charge
 * only the second
 */
#define SLOT_CACHE_KB	(64 * (long)(PAGE_SZ >> 10))

/*
 * cgroup v2, mounted at CG2ROOT if it is not yet: a cgroup of its own under
 * the root, with the controllers asked for (e.g. "+memory") on; NULL, or
 * why it cannot be had
 */
#define CG2ROOT	"/sys/fs/cgroup"

static inline const char *cg2_make(const char *cg, const char *controllers)
{
	if (access(CG2ROOT "/cgroup.controllers", R_OK)) {
		mkdir(CG2ROOT, 0755);
		if (mount("cgroup2", CG2ROOT, "cgroup2", 0, NULL))
			return "cannot mount cgroup2";
	}
	if (write_file(CG2ROOT "/cgroup.subtree_control", controllers))
		return "cannot turn the controllers on (cgroup.subtree_control)";
	rmdir(cg);
	if (mkdir(cg, 0755))
		return "cannot make a cgroup";
	return NULL;
}

/* a number in a file of cgroup @cg; -1 if it cannot be read */
static inline long cg2_read(const char *cg, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static inline int cg2_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

static inline long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

#endif /* UZ_THP_SWAP_H */
