/* SPDX-License-Identifier: MIT */
/*
 * Memory whose VMA flags say it must stay or must not reach a child:
 * mlock()ed and mlockall()ed memory is never evicted and eviction still
 * works after munlockall() (the agent's own staging was locked too);
 * MADV_WIPEONFORK memory, set before or after eviction (also by the raw
 * system call, on a range that cuts blocks), reads as zeros in a child
 * and as its data in the parent, also when moved by mremap or set by
 * process_madvise() where eviction was allowed a moment before (read by
 * a _Fork child, which runs no fork hook); the arena is left out of core
 * dumps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

/* kB locked in this process (VmLck), -1 when unknown */
static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmLck:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static void locked(void)
{
	uint8_t *a = it_alloc(LEN, 1), *b = it_alloc(LEN, 1);
	uint64_t before;

	it_fill(a, LEN, 1);
	it_fill(b, LEN, 2);
	it_assert(!mlock(a, LEN), "mlock failed");
	if (vmlck_kb() < (long)(LEN >> 10)) {
		/* AddressSanitizer's mlock() returns 0 and does nothing */
		printf("locked: mlock() succeeded but locked nothing "
		       "(a sanitizer's interceptor?); part skipped\n");
		munmap(a, LEN);
		munmap(b, LEN);
		return;
	}
	it_evict_all();
	it_assert(it_rss_kb(a, LEN) >= (long)(LEN >> 10), "mlocked memory was evicted");
	it_assert(it_rss_kb(b, LEN) < (long)(LEN >> 10), "unlocked memory was not evicted");
	it_assert(it_check(a, LEN, 1) < 0 && it_check(b, LEN, 2) < 0, "locked: wrong bytes");

	/* everything locked, also what the agent maps from now on */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) {
		printf("mlockall: not permitted here; part skipped\n");
		munlock(a, LEN);
		return;
	}
	before = it_stat("evicted_bytes");
	it_evict_all();
	it_assert(it_stat("evicted_bytes") == before, "mlockall: memory was evicted");
	it_assert(it_check(a, LEN, 1) < 0 && it_check(b, LEN, 2) < 0, "mlockall: wrong bytes");
	/* mlockall() locked the agent's staging too, but not b any more:
	 * eviction must still store and restore the right bytes */
	it_assert(!munlock(b, LEN), "munlock failed");
	it_fill(a, LEN, 3);
	it_fill(b, LEN, 4);
	it_evict_all();
	it_assert(it_rss_kb(a, LEN) >= (long)(LEN >> 10), "mlockall: a was evicted");
	it_assert(it_rss_kb(b, LEN) < (long)(LEN >> 10), "munlock: b was not evicted");
	it_assert(it_check(a, LEN, 3) < 0, "mlockall: a reads wrong");
	it_assert(it_check(b, LEN, 4) < 0, "munlock: b reads wrong");
	munlockall();
	it_fill(b, LEN, 7);
	it_evict_all();
	it_assert(it_check(b, LEN, 7) < 0, "after munlockall: b reads wrong");
	munmap(a, LEN);
	munmap(b, LEN);
	printf("locked: ok\n");
}

/* In a child, @p must read as zeros; in the parent, as seed @seed. */
static void wiped_in_child(const uint8_t *p, uint64_t seed, const char *what)
{
	pid_t pid = fork();
	int st;

	it_assert(pid >= 0, "fork failed");
	if (!pid) {
		size_t i;

		for (i = 0; i < LEN; i++)
			if (p[i])
				_exit(1);
		_exit(0);
	}
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "%s: the child read the parent's data (status %#x)", what, st);
	it_assert(it_check(p, LEN, seed) < 0, "%s: the parent's data is wrong", what);
}

static void wipe_on_fork(void)
{
	uint8_t *before = it_alloc(LEN, 1), *after = it_alloc(LEN, 1);

	it_fill(before, LEN, 5);
	it_fill(after, LEN, 6);
	it_assert(!madvise(before, LEN, MADV_WIPEONFORK), "MADV_WIPEONFORK failed");
	it_evict_all();
	it_assert(it_rss_kb(before, LEN) >= (long)(LEN >> 10),
		  "MADV_WIPEONFORK memory was evicted");
	it_assert(it_rss_kb(after, LEN) < (long)(LEN >> 10), "other memory was not evicted");
	/* set while evicted */
	it_assert(!madvise(after, LEN, MADV_WIPEONFORK), "MADV_WIPEONFORK failed");
	wiped_in_child(before, 5, "set before eviction");
	wiped_in_child(after, 6, "set after eviction");
	printf("wipe on fork: ok\n");
}

/*
 * The flag set by the raw system call, which no interposer sees, on
 * evicted memory, from 64 KB into the second block to 64 KB into the
 * third: the child must read zeros there and the data around it (it
 * read the stored copy, 2088953 bytes of it, before the fork hook
 * looked at the VMAs' flags).
 */
static void raw_wipe_on_fork(void)
{
	uint8_t *p = it_alloc(LEN, 1), *want = malloc(LEN);
	size_t wipe_at = 2 * IT_MB + 64 * 1024, wipe_len = 2 * IT_MB;
	pid_t pid;
	int st;

	it_assert(want, "malloc");
	it_fill(p, LEN, 8);
	it_fill(want, LEN, 8);
	it_evict_all();
	it_assert(it_rss_kb(p, LEN) < 4096, "the memory was not evicted");
	it_assert(!syscall(SYS_madvise, p + wipe_at, wipe_len, MADV_WIPEONFORK),
		  "MADV_WIPEONFORK (raw) failed: %s", strerror(errno));
	memset(want + wipe_at, 0, wipe_len);
	pid = fork();
	it_assert(pid >= 0, "fork failed");
	if (!pid)
		_exit(memcmp(p, want, LEN) ? 1 : 0);
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "raw flag on evicted memory: the child read wrong bytes "
		  "(status %#x)", st);
	it_assert(it_check(p, LEN, 8) < 0, "raw flag: the parent's data is wrong");
	free(want);
	munmap(p, LEN);
	printf("wipe on fork, raw system call: ok\n");
}

/* Does a child made by _Fork() (no fork hooks run) read @p as zeros? */
static int raw_child_reads_zeros(const uint8_t *p)
{
	pid_t pid = _Fork();
	int st;

	it_assert(pid >= 0, "_Fork failed");
	if (!pid) {
		for (size_t i = 0; i < LEN; i++)
			if (p[i])
				_exit(1);
		_exit(0);
	}
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid");
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

/*
 * Wipe-on-fork memory where the eviction scan read "allowed" a moment
 * ago (it keeps what it read of smaps 500 ms): moved there by mremap,
 * or flagged there by process_madvise() on our own pidfd (Linux 6.13+).
 * It must not be evicted at the next walk: a child that runs no fork
 * hook (_Fork) read the parent's data there (review probes p_wf_mremap
 * and p_wf_bypass).
 */
static void wipe_on_fork_where_allowed(void)
{
	uint8_t *x = it_alloc(LEN, 0), *y = it_alloc(LEN, 0);
	struct iovec iov;
	int pidfd;

	it_fill(x, LEN, 9);
	it_fill(y, LEN, 10);
	it_assert(!madvise(x, LEN, MADV_WIPEONFORK), "MADV_WIPEONFORK failed");
	it_evict_all(); /* y read "allowed" */
	it_assert(mremap(x, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, y) == y,
		  "mremap: %s", strerror(errno));
	it_evict_all();
	it_assert(raw_child_reads_zeros(y), "wipe-on-fork memory moved by "
		  "mremap where eviction was allowed: a _Fork child read the "
		  "parent's data (%ld kB of %lu resident)", it_rss_kb(y, LEN),
		  LEN >> 10);
	it_assert(it_check(y, LEN, 9) < 0, "mremap: the parent's data is wrong");
	munmap(y, LEN);

	y = it_alloc(LEN, 0);
	it_fill(y, LEN, 11);
	it_evict_all();
	it_assert(it_check(y, LEN, 11) < 0, "read back wrong");
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	iov.iov_base = y;
	iov.iov_len = LEN;
	if (pidfd < 0 || process_madvise(pidfd, &iov, 1, MADV_WIPEONFORK, 0) !=
			 (ssize_t)LEN) {
		/* before Linux 6.13 it takes no MADV_WIPEONFORK */
		printf("process_madvise(MADV_WIPEONFORK) on ourselves: %s; "
		       "part skipped\n", strerror(errno));
	} else {
		it_evict_all();
		it_assert(raw_child_reads_zeros(y), "wipe-on-fork set by "
			  "process_madvise: a _Fork child read the parent's "
			  "data (%ld kB of %lu resident)", it_rss_kb(y, LEN),
			  LEN >> 10);
		it_assert(it_check(y, LEN, 11) < 0, "process_madvise: the "
			  "parent's data is wrong");
	}
	if (pidfd >= 0)
		close(pidfd);
	munmap(y, LEN);
	printf("wipe on fork where eviction was allowed a moment ago: ok\n");
}

/* The arena (a shared memfd sized to RAM) carries VM_DONTDUMP: a core
 * dump of the application leaves it out. */
static void arena_not_dumped(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in_arena = 0, seen = 0;

	it_assert(f, "cannot read /proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "uzswap-arena")) {
			in_arena = 1;
			seen++;
		} else if (in_arena && !strncmp(line, "VmFlags:", 8)) {
			it_assert(strstr(line, " dd"), "the arena would be dumped: %s", line);
			in_arena = 0;
		}
	}
	fclose(f);
	it_assert(seen, "no arena mapping found");
	printf("arena not dumped: ok\n");
}

/* mlockall() without MCL_ONFAULT locks and fills all that is mapped:
 * the agent's share of it must stay small (the arena is sized to RAM;
 * only its header and records are mapped). */
static void lock_everything_now(void)
{
	long locked_kb;

	if (mlockall(MCL_CURRENT)) {
		printf("mlockall(MCL_CURRENT): %s; part skipped\n", strerror(errno));
		return;
	}
	locked_kb = vmlck_kb();
	munlockall();
	if (!locked_kb) {
		/* AddressSanitizer's mlockall() returns 0 and does nothing */
		printf("mlockall(MCL_CURRENT) succeeded but locked nothing "
		       "(a sanitizer's interceptor?); part skipped\n");
		return;
	}
	it_assert(locked_kb >= 0 && locked_kb < 512 * 1024,
		  "mlockall(MCL_CURRENT) locked %ld kB (the whole arena?)", locked_kb);
	printf("mlockall without MCL_ONFAULT: %ld kB locked: ok\n", locked_kb);
}

int main(int argc, char **argv)
{
	it_setup(argc, argv);
	alarm(120);
	wipe_on_fork();
	raw_wipe_on_fork();
	wipe_on_fork_where_allowed();
	locked();
	arena_not_dumped();
	lock_everything_now();
	return 0;
}
