// SPDX-License-Identifier: MIT
/*
 * thp_swap_async - PMD swap entries on a swap device that is not
 * synchronous, unlike zram: null_blk, memory-backed, completing each
 * request a second after it was submitted (irqmode 2, completion_nsec).
 * MADV_PAGEOUT returns with the THP still under writeback in the swap
 * cache, and a fault finds it there.
 *   1. MADV_PAGEOUT installs a PMD swap entry on the device and returns
 *      with the THP under writeback (Writeback >= 2 MB);
 *   2. a write fault during that writeback maps the THP from the swap
 *      cache, writable at once (the device does not need stable pages):
 *      thp_swpin_pmd +1, pswpin +0, no split;
 *   3. once written out and dropped from the swap cache (memory.reclaim),
 *      a fault reads the THP from the device whole: pswpin +512,
 *      thp_swpin_pmd +1, and the folio stays in the swap cache (SwapCached
 *      +2 MB), as a read fault leaves it on such a device;
 *   4. a read that fails (a bad sector under the THP's last page): the 2 MB
 *      read fails, the fault drops that folio and falls back
 *      (thp_swpin_pmd_fallback +1); the first page then reads right, the
 *      last one gets SIGBUS;
 *   5. with stable_writes set on the device, a write fault during the
 *      writeback maps the THP read-only (as do_swap_page() does), so the
 *      write takes a second fault that cannot reuse a folio still under
 *      writeback: the PMD is split and the first page alone copied
 *      (thp_split_pmd +1, pagemap: a new frame for it, the others the
 *      THP's);
 *   6. a read fault during that writeback maps it read-only too, and a
 *      write after the writeback ended reuses the THP whole (no split);
 *   7. nothing left behind: every slot of the device free again, the
 *      kernel log quiet, AnonHugePages back.
 * Each pass runs in a child in a memory cgroup of its own (for
 * memory.reclaim), under a 60 s alarm. The device has a higher swap
 * priority than zram, so the THPs go to it.
 *
 * Skips on a kernel without PMD swap entries, null_blk or the memory
 * controller on cgroup v2.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <setjmp.h>
#include <signal.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>

#include "thp_swap.h"

#define CONFIGFS	"/sys/kernel/config"
#define NAME		"thp_swap_async"	/* configfs item, and the disk's name */
#define NULLB		CONFIGFS "/nullb/" NAME "/"
#define DEV_MB		"64"
#define DELAY_NS	"1000000000"	/* a second for every request */
#define CG		CG2ROOT "/thp_swap_async"
#define WORD		7		/* the word a write fault changes */
#define NEW_VALUE	0x5ca1ab1e0ddba11ULL

static char dev[32], queue[64];

/* a new memory-backed null_blk device with slow completions; NULL or why not */
static const char *nullb_make(void)
{

	if (access(CONFIGFS "/nullb", F_OK))
		mount("configfs", CONFIGFS, "configfs", 0, NULL);
	if (access(CONFIGFS "/nullb", F_OK))
		return "no null_blk in configfs (CONFIG_BLK_DEV_NULL_BLK)";
	rmdir(NULLB);
	if (mkdir(NULLB, 0755))
		return "cannot make a null_blk device";
	if (write_file(NULLB "size", DEV_MB) || write_file(NULLB "blocksize", "4096") ||
	    write_file(NULLB "memory_backed", "1") || write_file(NULLB "irqmode", "2") ||
	    write_file(NULLB "completion_nsec", DELAY_NS) || write_file(NULLB "power", "1"))
		return "cannot configure the null_blk device";
	snprintf(dev, sizeof(dev), "/dev/" NAME);
	snprintf(queue, sizeof(queue), "/sys/block/" NAME "/queue/");
	if (access(dev, R_OK | W_OK) || access(queue, X_OK))
		return "the null_blk device has no /dev/" NAME " or /sys/block/" NAME;
	return NULL;
}

/* mkswap's header on the device, written through to it */
static int nullb_mkswap(void)
{
	char page[PAGE_SZ] = { 0 };
	uint32_t info[3] = { 1, (64UL << 20) / PAGE_SZ - 1, 0 };	/* version, last_page, bad pages */
	int fd = open(dev, O_WRONLY | O_SYNC), ok;

	if (fd < 0)
		return -1;
	memcpy(page + 1024, info, sizeof(info));
	memcpy(page + PAGE_SZ - 10, "SWAPSPACE2", 10);
	ok = pwrite(fd, page, PAGE_SZ, 0) == (ssize_t)PAGE_SZ;
	close(fd);
	return ok ? 0 : -1;
}

/* sectors [first, last] of the device fail (+) or work again (-) */
static int nullb_badblocks(char op, uint64_t first, uint64_t last)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%c%llu-%llu", op, (unsigned long long)first,
		 (unsigned long long)last);
	return write_file(NULLB "badblocks", buf);
}

static int queue_set(const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s%s", queue, attr);
	return write_file(path, val);
}

/* swap on the device, before zram, stable_writes as asked */
static int dev_swapon(int stable)
{
	if (queue_set("rotational", "0") || queue_set("stable_writes", stable ? "1" : "0")) {
		ksft_print_msg("cannot set %s{rotational,stable_writes}\n", queue);
		return -1;
	}
	if (swapon(dev, SWAP_FLAG_PREFER | 100)) {
		ksft_print_msg("swapon(%s): %s\n", dev, strerror(errno));
		return -1;
	}
	return 0;
}

/* the device's Used in /proc/swaps, kB; -1 when it is not there */
static long dev_used_kb(void)
{
	char name[64], type[32];
	long size, used, ret = -1;
	int prio;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return -1;
	fscanf(f, "%*[^\n]");	/* the header */
	while (fscanf(f, "%63s %31s %ld %ld %d", name, type, &size, &used, &prio) == 5)
		if (!strcmp(name, dev))
			ret = used;
	fclose(f);
	return ret;
}

/* wait (30 s at most) until no page is under writeback; 0 once so */
static int writeback_done(void)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 3000; i++) {
		if (meminfo_kb("Writeback") == 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	ksft_print_msg("Writeback still %ld kB after 30 s\n", meminfo_kb("Writeback"));
	return -1;
}

/* the pagemap entry of the page at @addr; 0 if it cannot be read */
static uint64_t pagemap_entry(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / PAGE_SZ * 8) != 8)
		e = 0;
	close(fd);
	return e;
}

/* the swap offset of the page at @addr; 0 if not swapped */
static uint64_t swap_offset(const void *addr)
{
	uint64_t e = pagemap_entry(addr);

	return (e & (1ULL << 62)) ? (e & ((1ULL << 55) - 1)) >> 5 : 0;
}

/* the page frame behind @addr; 0 if not present */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e = pagemap_entry(addr);

	return (e & (1ULL << 63)) ? e & ((1ULL << 55) - 1) : 0;
}

/* the THP with word WORD set to NEW_VALUE, the rest the pattern of @seed */
static size_t check_written(const char *a, uint64_t seed, const char *what)
{
	const uint64_t *w = (const uint64_t *)a;
	size_t bad = check_from(a, WORD * 8, seed, 0, what) +
		     check_from(a + (WORD + 1) * 8, PMD_SIZE - (WORD + 1) * 8, seed, WORD + 1, what);

	if (w[WORD] != NEW_VALUE) {
		ksft_print_msg("%s: the written word is %#llx\n", what, (unsigned long long)w[WORD]);
		bad++;
	}
	return bad;
}

/*
 * A THP of @seed paged out to the device as a PMD swap entry, then a
 * write fault while its writeback runs; @s1..@s2 around the fault, @slot
 * the swap offset of its first page. NULL,
 * said why, when the THP did not go out as a PMD swap entry under writeback
 * or the fault did not land during the writeback.
 */
static char *write_during_writeback(uint64_t seed, struct vm_snap *s1, struct vm_snap *s2,
				    uint64_t *slot)
{
	struct vm_snap s0;
	long wb_before, wb_after, used;
	char *a;
	int as_pmd;

	/* Writeback counts every device: nothing else under it but this THP */
	if (writeback_done())
		return NULL;
	a = thp_area_paged_out(PMD_SIZE, seed, &s0, s1);
	if (!a)
		return NULL;
	/* all read before the fault, well within the second of writeback */
	as_pmd = out_as_pmds(a, PMD_SIZE, &s0, s1);
	wb_before = meminfo_kb("Writeback");
	used = dev_used_kb();
	*slot = swap_offset(a);
	((volatile uint64_t *)a)[WORD] = NEW_VALUE;
	snap(s2);
	wb_after = meminfo_kb("Writeback");
	print_snap_delta("pageout", &s0, s1);
	print_snap_delta("write fault", s1, s2);
	ksft_print_msg("Writeback %ld kB before the fault, %ld kB after it; %s Used %ld kB\n",
		       wb_before, wb_after, dev, used);
	if (!as_pmd || used < (long)(PMD_SIZE >> 10) ||
	    wb_after < (long)(PMD_SIZE >> 10)) {
		ksft_print_msg("not a PMD swap entry on %s under writeback at the fault\n", dev);
		munmap(a, PMD_SIZE);
		return NULL;
	}
	return a;
}

/*
 * A THP of @seed paged out, written to the device and dropped from the swap
 * cache (memory.reclaim of the child's cgroup): only the device has it.
 * NULL, said why, if any step went otherwise.
 */
static char *only_on_device(uint64_t seed)
{
	struct vm_snap s0, s1;
	unsigned char vec[NR_SUB];
	size_t incore = 0, i;
	char *a = thp_area_paged_out(PMD_SIZE, seed, &s0, &s1);

	if (!a)
		return NULL;
	if (!out_as_pmds(a, PMD_SIZE, &s0, &s1) || writeback_done()) {
		munmap(a, PMD_SIZE);
		return NULL;
	}
	cg2_write(CG, "memory.reclaim", "16M");
	if (mincore(a, PMD_SIZE, vec))
		incore = NR_SUB;
	for (i = 0; i < NR_SUB && incore < NR_SUB; i++)
		incore += vec[i] & 1;
	if (incore) {
		ksft_print_msg("%zu pages still in the swap cache after memory.reclaim\n", incore);
		munmap(a, PMD_SIZE);
		return NULL;
	}
	return a;
}

static sigjmp_buf on_sigbus;

static void sigbus(int sig)
{
	siglongjmp(on_sigbus, sig);
}

/* 1 if reading the first word of @p raised SIGBUS; the word in *@word */
static int read_raises_sigbus(const char *p, uint64_t *word)
{
	struct sigaction sa = { .sa_handler = sigbus }, old;
	int raised = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(on_sigbus, 1))
		raised = 1;
	else
		*word = *(volatile const uint64_t *)p;
	sigaction(SIGBUS, &old, NULL);
	return raised;
}

/* 4: the 2 MB read fails on a bad sector under the last page */
static int read_error(void)
{
	struct vm_snap s0, s1;
	uint64_t slot, first = 0, last = 0;
	int first_bus, last_bus, failed;
	char *a = only_on_device(4);

	if (!a)
		return 1;
	slot = swap_offset(a);
	if (!slot || nullb_badblocks('+', (slot + NR_SUB - 1) * 8, (slot + NR_SUB) * 8 - 1)) {
		ksft_print_msg("cannot mark the sectors of slot %#llx bad\n",
			       (unsigned long long)slot + NR_SUB - 1);
		munmap(a, PMD_SIZE);
		return 1;
	}
	snap(&s0);
	first_bus = read_raises_sigbus(a, &first);
	last_bus = read_raises_sigbus(a + PMD_SIZE - PAGE_SZ, &last);
	snap(&s1);
	nullb_badblocks('-', (slot + NR_SUB - 1) * 8, (slot + NR_SUB) * 8 - 1);
	print_snap_delta("reads over a bad sector", &s0, &s1);
	ksft_print_msg("first page: %s (%#llx), last page: %s\n",
		       first_bus ? "SIGBUS" : "read", (unsigned long long)first,
		       last_bus ? "SIGBUS" : "read");
	/* pswpin: the 2 MB read was submitted (and the 4 KB ones after it) */
	failed = first_bus || first != pat(4, 0) || !last_bus ||
		 d(&s0, &s1, V_PSWPIN) < (long long)NR_SUB ||
		 d(&s0, &s1, V_SWPIN_PMD_FB) != 1 || d(&s0, &s1, V_SWPIN_PMD) != 0;
	munmap(a, PMD_SIZE);
	return failed;
}

/* pass 1 (no stable writes), points 1 to 4: a bit set for each that failed */
static int pass_plain(void)
{
	struct vm_snap s1, s2;
	int failed = 0;
	long majflt0, cached;
	uint64_t slot;
	size_t bad;
	char *a;

	a = write_during_writeback(1, &s1, &s2, &slot);
	if (!a)
		return 15;
	bad = check_written(a, 1, "written during writeback");
	if (d(&s1, &s2, V_SWPIN_PMD) != 1 || d(&s1, &s2, V_PSWPIN) != 0 ||
	    d(&s1, &s2, V_SPLIT_PMD) != 0 || smaps_kb(a, "AnonHugePages") != 2048 || bad)
		failed |= 2;
	munmap(a, PMD_SIZE);

	/* 3: only on the device: the fault reads it whole */
	a = only_on_device(2);
	if (!a)
		return failed | 12;
	majflt0 = majflt();
	cached = meminfo_kb("SwapCached");
	snap(&s1);
	bad = check(a, PMD_SIZE, 2, "read from the device");
	snap(&s2);
	/* unlike zram's, the folio read stays in the swap cache too */
	cached = meminfo_kb("SwapCached") - cached;
	print_snap_delta("read from the device", &s1, &s2);
	ksft_print_msg("major faults +%ld, SwapCached %+ld kB\n", majflt() - majflt0, cached);
	if (bad || d(&s1, &s2, V_SWPIN_PMD) != 1 || d(&s1, &s2, V_PSWPIN) != (long long)NR_SUB ||
	    d(&s1, &s2, V_SPLIT_PMD) != 0 || smaps_kb(a, "AnonHugePages") != 2048 ||
	    cached < (long)(PMD_SIZE >> 10))
		failed |= 4;
	munmap(a, PMD_SIZE);

	if (read_error())
		failed |= 8;
	return failed;
}

/*
 * 5: the write fault during writeback on a stable_writes device: mapped
 * read-only, the write then copies the first page alone. 1 if it failed.
 */
static int write_during_stable_writeback(void)
{
	struct vm_snap s1, s2;
	uint64_t slot, pfn0, pfn1, pfn_last;
	size_t bad;
	char *a = write_during_writeback(3, &s1, &s2, &slot);
	int failed;

	if (!a)
		return 1;
	bad = check_written(a, 3, "written during writeback to a stable_writes device");
	/* the first page is a copy; the other 511 still the THP read */
	pfn0 = pfn_of(a);
	pfn1 = pfn_of(a + PAGE_SZ);
	pfn_last = pfn_of(a + PMD_SIZE - PAGE_SZ);
	ksft_print_msg("page frames: first %#llx, second %#llx, last %#llx\n",
		       (unsigned long long)pfn0, (unsigned long long)pfn1,
		       (unsigned long long)pfn_last);
	failed = d(&s1, &s2, V_SWPIN_PMD) != 1 || d(&s1, &s2, V_PSWPIN) != 0 ||
		 d(&s1, &s2, V_SPLIT_PMD) != 1 || bad || !pfn0 || !pfn1 ||
		 pfn0 + 1 == pfn1 || pfn_last != pfn1 + NR_SUB - 2;
	munmap(a, PMD_SIZE);
	return failed;
}

/*
 * 6: a read fault during writeback on a stable_writes device maps the THP
 * read-only; a write once the writeback ended reuses it whole. 1 if failed.
 */
static int write_after_stable_writeback(void)
{
	struct vm_snap s0, s1, s2, s3;
	long wb_after, minflt;
	struct rusage ru;
	size_t bad;
	char *a;
	int failed, as_pmd;

	/* point 5's THP may still be under writeback: Writeback is this one's */
	if (writeback_done())
		return 1;
	a = thp_area_paged_out(PMD_SIZE, 5, &s0, &s1);
	if (!a)
		return 1;
	as_pmd = out_as_pmds(a, PMD_SIZE, &s0, &s1);
	bad = check(a, PMD_SIZE, 5, "read during writeback");
	snap(&s2);
	wb_after = meminfo_kb("Writeback");
	if (writeback_done()) {
		munmap(a, PMD_SIZE);
		return 1;
	}
	/* read-only: the write takes a fault (minor), where a writable
	 * mapping would take none */
	getrusage(RUSAGE_SELF, &ru);
	minflt = ru.ru_minflt;
	((volatile uint64_t *)a)[WORD] = NEW_VALUE;
	getrusage(RUSAGE_SELF, &ru);
	minflt = ru.ru_minflt - minflt;
	snap(&s3);
	bad += check_written(a, 5, "written after the writeback");
	print_snap_delta("read fault during writeback", &s1, &s2);
	print_snap_delta("write after it", &s2, &s3);
	ksft_print_msg("Writeback %ld kB after the read fault; the write took %ld fault(s); AnonHugePages %ld kB after it\n",
		       wb_after, minflt, smaps_kb(a, "AnonHugePages"));
	failed = !as_pmd || wb_after < (long)(PMD_SIZE >> 10) ||
		 d(&s1, &s2, V_SWPIN_PMD) != 1 || d(&s2, &s3, V_SPLIT_PMD) != 0 || minflt < 1 ||
		 smaps_kb(a, "AnonHugePages") != 2048 || bad;
	munmap(a, PMD_SIZE);
	return failed;
}

/* pass 2 (stable_writes), points 5 and 6: a bit set for each that failed */
static int pass_stable(void)
{
	return write_during_stable_writeback() | write_after_stable_writeback() << 1;
}

/* run @fn in a child in the cgroup, under a 60 s alarm: its failed bits */
static int in_cgroup(int (*fn)(void), int all_bits)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return all_bits;
	if (!pid) {
		alarm(60);
		_exit(cg2_write(CG, "cgroup.procs", "0") ? all_bits : fn());
	}
	if (waitpid(pid, &status, 0) != pid)
		return all_bits;
	if (!WIFEXITED(status)) {
		ksft_print_msg("the child ended with status %#x\n", status);
		return all_bits;
	}
	return WEXITSTATUS(status);
}

/* the device and the cgroup gone; 0, or 1 said why not */
static int teardown(void)
{
	int failed = 0;

	/* a device still swapped on must not lose its power */
	if (dev_used_kb() >= 0 && swapoff_within(dev, 60)) {
		ksft_print_msg("%s stays\n", dev);
		return 1;
	}
	write_file(NULLB "power", "0");
	if (rmdir(NULLB) && errno != ENOENT) {
		ksft_print_msg("rmdir %s: %s\n", NULLB, strerror(errno));
		failed = 1;
	}
	if (rmdir(CG) && errno != ENOENT) {
		ksft_print_msg("rmdir %s: %s\n", CG, strerror(errno));
		failed = 1;
	}
	return failed;
}

int main(void)
{
	struct clean_mark mark;
	const char *why;
	long left, allowance;
	int failed, torn;

	ksft_print_header();
	ksft_set_plan(7);
	require_pmd_swap();
	why = nullb_make();
	if (!why && (queue_set("rotational", "0") || queue_set("stable_writes", "0")))
		why = "no writable queue/rotational and queue/stable_writes";
	if (!why && nullb_mkswap())
		why = "cannot write a swap header on the null_blk device";
	if (!why)
		why = cg2_make(CG, "+memory");
	if (why) {
		teardown();
		ksft_exit_skip_rest(why);
	}
	mark = clean_mark();

	failed = dev_swapon(0) ? 15 : in_cgroup(pass_plain, 15);
	swapoff_within(dev, 60);
	ksft_test_result(!(failed & 1),
			 "null_blk swap: MADV_PAGEOUT installs a PMD swap entry and returns with the THP under writeback");
	ksft_test_result(!(failed & 2),
			 "write fault during writeback: THP mapped from the swap cache, writable at once (thp_swpin_pmd +1, pswpin +0, no split)");
	ksft_test_result(!(failed & 4),
			 "written out and dropped from the swap cache: the fault reads the THP from the device whole (pswpin +512, thp_swpin_pmd +1), the folio stays in the swap cache");
	ksft_test_result(!(failed & 8),
			 "a read error under the last page: the 2 MB read fails, the fault falls back (thp_swpin_pmd_fallback +1), the first page reads right, the last gets SIGBUS");

	failed = dev_swapon(1) ? 3 : in_cgroup(pass_stable, 3);
	ksft_test_result(!(failed & 1),
			 "stable_writes device: a write fault during writeback maps the THP read-only, the write then copies the first page alone (thp_split_pmd +1)");
	ksft_test_result(!(failed & 2),
			 "stable_writes device: a read fault during writeback maps the THP read-only, a write after the writeback reuses it whole (no split)");

	/* what the children left in the swap cache, then nothing may be left */
	writeback_done();
	cg2_write(CG, "memory.reclaim", "64M");
	left = dev_used_kb();
	allowance = 2 * SLOT_CACHE_KB * sysconf(_SC_NPROCESSORS_ONLN);
	ksft_print_msg("%s Used %ld kB after both passes (the slot caches may hold %ld kB)\n",
		       dev, left, allowance);
	torn = !teardown();
	ksft_test_result(clean_since(mark) && left >= 0 && left <= allowance && torn,
			 "nothing left behind: the device's slots free, the device and cgroup gone, kernel log quiet, AnonHugePages back");
	ksft_finished();
	return 0;
}
