/* SPDX-License-Identifier: MIT */
/*
 * mmap, munmap, mremap, madvise, process_madvise and the lock calls as
 * the application calls them.  They
 * issue the system call themselves (no dlsym, no allocation) and keep the
 * API's registrations and hints to memory that still exists: a range
 * that is unmapped, mapped over or moved away loses them.  What to
 * evict is found by scanning /proc/self/maps (glibc's own calls bypass
 * any interposer), and evicted data follows the uffd's UNMAP and REMAP
 * events.  They take
 * no lock across the system call: munmap of an evicted range waits for
 * the agent thread to read the UNMAP event.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "advising.h"
#include "agent.h"
#include "blocks.h"
#include "inactive.h"
#include "fork.h"
#include "loop.h"
#include "regions.h"
#include "uffd_compat.h"
#include "reserve.h"
#include "uzswap.h"

#define UZ_EXPORT __attribute__((visibility("default")))

UZ_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	void *p = r == -1 ? MAP_FAILED : (void *)r;

	if (p != MAP_FAILED && (flags & MAP_FIXED)) {
		/* mapped over: whatever was said of the old memory is void,
		 * its flags too */
		regions_note_unmap((uintptr_t)p, len);
		regions_flags_changed();
	}
	return p;
}

UZ_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off) __attribute__((alias("mmap")));

UZ_EXPORT int munmap(void *addr, size_t len)
{
	long r = syscall(SYS_munmap, addr, len);

	if (!r)
		regions_note_unmap((uintptr_t)addr, len);
	return (int)r;
}

/* Locking changes VmFlags, not the maps lines: the eviction scan reads
 * smaps again after it (regions_flags_changed). */
UZ_EXPORT int mlock(const void *addr, size_t len)
{
	long r = syscall(SYS_mlock, addr, len);

	regions_flags_changed();
	return (int)r;
}

UZ_EXPORT int mlock2(const void *addr, size_t len, unsigned int flags)
{
	long r = syscall(SYS_mlock2, addr, len, flags);

	regions_flags_changed();
	return (int)r;
}

UZ_EXPORT int munlock(const void *addr, size_t len)
{
	long r = syscall(SYS_munlock, addr, len);

	regions_flags_changed();
	return (int)r;
}

UZ_EXPORT int munlockall(void)
{
	long r = syscall(SYS_munlockall);

	regions_flags_changed();
	return (int)r;
}

/* The agent's reserved range (PROT_NONE, 256 MB) would count as locked
 * memory, against the program's RLIMIT_MEMLOCK too. */
UZ_EXPORT int mlockall(int flags)
{
	long r = syscall(SYS_mlockall, flags);

	regions_flags_changed();
	if (!r && (flags & MCL_CURRENT))
		reserve_unlock();
	return (int)r;
}

/*
 * Bring [addr, addr+len) back and keep evictions off until the caller's
 * system call is done (hold_end).  Evicted blocks are VMAs of their own
 * (registered on the uffd), and some calls want one VMA: mremap fails
 * with EFAULT, and with MREMAP_FIXED (Linux 6.17+) moves part of the
 * range before failing.  The round trip only once an eviction has
 * ever started in this process.
 */
/* Every signal held back on this thread, the mask before in @old: no
 * handler can siglongjmp() out of what follows (as far as glibc lets us:
 * not its own SIGCANCEL and SIGSETXID). */
static void signals_hold(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static int hold_begin(void *addr, size_t len, sigset_t *mask)
{
	if (!agent_here() || !len || loop_is_agent_thread())
		return 0;
	/* a handler that siglongjmp()s out of the call would skip
	 * hold_end, and no eviction would ever run again */
	signals_hold(mask);
	/* hold first, then look: an eviction that starts after the hold
	 * stops before its first block, one that started before has set
	 * evicted_once (evict_run) and may have a block in flight, which
	 * the round trip below waits out */
	__atomic_add_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&uz_agent.evicted_once, __ATOMIC_SEQ_CST))
		loop_request(LOOP_RESTORE_RANGE, (uintptr_t)addr, len);
	return 1;
}

static void hold_end(int held, const sigset_t *mask)
{
	if (!held)
		return;
	__atomic_sub_fetch(&uz_agent.evict_hold, 1, __ATOMIC_SEQ_CST);
	pthread_sigmask(SIG_SETMASK, mask, NULL);
}

UZ_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	void *p;
	va_list ap;
	long r;
	int held, saved;
	sigset_t mask;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	held = hold_begin(old, old_len, &mask);
	r = syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	saved = errno;
	hold_end(held, &mask);
	errno = saved;
	p = r == -1 ? MAP_FAILED : (void *)r;
	if (p != MAP_FAILED)
		/* memory with other flags may now be where a verdict was
		 * read (review probe p_wf_mremap: wipe-on-fork memory moved
		 * onto a range read as allowed, then evicted) */
		regions_flags_changed();
	if (p != MAP_FAILED && p != old) {
		/* the old range is gone; the stored copy follows through
		 * the REMAP event */
		regions_note_unmap((uintptr_t)old, old_len);
	} else if (p == old && new_len < old_len) {
		/* shrunk in place: its tail's hints go with it */
		regions_note_unmap((uintptr_t)old + new_len, old_len - new_len);
	}
	return p;
}

/*
 * The program's own advice, after the kernel took it:
 * MADV_SEQUENTIAL/MADV_RANDOM say how much a fault brings back (2 MB or
 * 64 KB), MADV_NORMAL forgets that; MADV_COLD/MADV_PAGEOUT make the
 * range go first at the next eviction (never where it is hinted HOT);
 * MADV_WILLNEED brings back what is evicted of it now.
 */
static void take_advice(void *addr, size_t len, int advice)
{
	uint64_t a = (uintptr_t)addr;

	switch (advice) {
	case MADV_SEQUENTIAL:
		regions_advise(a, len, UZSWAP_HINT_SEQUENTIAL);
		break;
	case MADV_RANDOM:
		regions_advise(a, len, UZSWAP_HINT_RANDOM);
		break;
	case MADV_NORMAL:
		regions_shape_clear(a, len);
		break;
	case MADV_COLD:
	case MADV_PAGEOUT:
		regions_advise(a, len, UZSWAP_HINT_COLD);
		break;
	case MADV_WILLNEED:
		/* a round trip to the agent thread only when something may
		 * be evicted there (databases advise file ranges all the
		 * time) */
		if (blocks_may_hold(a, len) || inactive_may_hold(a, len))
			loop_request(LOOP_RESTORE_RANGE, a, len);
		break;
	}
}

/* Advice whose kernel path tells us (a REMOVE event) before it zaps */
static int advice_zaps(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_FREE ||
	       advice == MADV_REMOVE || advice == MADV_DONTNEED_LOCKED;
}

/* Can @advice change the VmFlags the eviction scan looks at (locked,
 * wipe-on-fork, dont-copy)?  Unknown advice is taken to. */
static int advice_changes_flags(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL:
	case MADV_WILLNEED: case MADV_DONTNEED: case MADV_FREE:
	case MADV_REMOVE: case MADV_DONTNEED_LOCKED: case MADV_COLD:
	case MADV_PAGEOUT: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
	case MADV_COLLAPSE: case MADV_MERGEABLE: case MADV_UNMERGEABLE:
	case MADV_DONTDUMP: case MADV_DODUMP: case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE: case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
		return 0;
	}
	return 1;
}

/*
 * MADV_WIPEONFORK on [addr, addr + len), set by @call(@arg): a child
 * must read that memory as zeros, but a child shares what is stored.
 * Mark it hot (never evicted again; unmapping it forgets that) and
 * bring back what is evicted before the kernel sets the flag.  The
 * eviction scan also skips memory that has the flag already (smaps
 * VmFlags "wf").  @call's result, with its errno.
 */
static long wipe_on_fork(void *addr, size_t len, long (*call)(void *),
			 void *arg)
{
	int held, saved, forking = fork_in_hooks();
	sigset_t old, mask;
	long r;

	/* no fork may copy the range between the flag and the restore; in
	 * a fork handler of the program's, inside our fork hooks, this
	 * thread holds the fork lock already (and no other fork can come) */
	if (!forking)
		fork_hold(&old);
	held = hold_begin(addr, len, &mask);
	r = call(arg);
	saved = errno;
	if (r >= 0 && !loop_is_agent_thread())
		regions_hint((uintptr_t)addr, len, UZSWAP_HINT_HOT);
	hold_end(held, &mask);
	if (!forking)
		fork_release(&old);
	regions_flags_changed();
	errno = saved;
	return r;
}

/* MADV_GUARD_INSTALL on [addr, addr + len) by @call(@arg): it zaps the
 * range with no REMOVE event, so what is stored of it would come back
 * after MADV_GUARD_REMOVE where the program must read zeros.  Brought
 * back first, and kept in.  @call's result, with its errno. */
static long guard_install(void *addr, size_t len, long (*call)(void *),
			  void *arg)
{
	sigset_t mask;
	int held = hold_begin(addr, len, &mask), saved;
	long r = call(arg);

	saved = errno;
	hold_end(held, &mask);
	errno = saved;
	return r;
}

struct madvise_args {
	void *addr;
	size_t len;
	int advice;
};

static long call_madvise(void *arg)
{
	const struct madvise_args *a = arg;

	return syscall(SYS_madvise, a->addr, a->len, a->advice);
}

UZ_EXPORT int madvise(void *addr, size_t len, int advice)
{
	struct madvise_args args = { addr, len, advice };
	int r, saved, flags = advice_changes_flags(advice), zaps, slot = 0;
	sigset_t old;

	if (advice == MADV_WIPEONFORK && agent_here())
		return (int)wipe_on_fork(addr, len, call_madvise, &args);
	if (advice == MADV_GUARD_INSTALL)
		return (int)guard_install(addr, len, call_madvise, &args);
	zaps = agent_here() && !loop_is_agent_thread() && advice_zaps(advice);
	if (zaps) {
		/* a handler that siglongjmp()s out of the call would
		 * leave the mark for good (and, past the table's
		 * slots, every block held) */
		signals_hold(&old);
		slot = advising_begin((uintptr_t)addr, len);
	}
	r = (int)syscall(SYS_madvise, addr, len, advice);
	saved = errno;
	if (zaps) {
		advising_end(slot);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	/* the agent's threads' own calls are not advice */
	if (!r && len && agent_here() && !loop_is_agent_thread())
		take_advice(addr, len, advice);
	/* VmFlags may change with no change to the maps lines: the
	 * verdicts read go, after the call (a walk that read smaps
	 * during it kept the flags from before) */
	if (flags)
		regions_flags_changed();
	errno = saved;
	return r;
}

/* Is @pidfd a pidfd of this process?  (Its fdinfo's "Pid:" line.) */
static int pidfd_is_self(int pidfd)
{
	char path[64], text[512], *pid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	pid = strstr(text, "\nPid:");
	return pid && strtol(pid + 5, NULL, 10) == (long)getpid();
}

struct process_madvise_args {
	int pidfd;
	const struct iovec *iov;
	int advice;
	unsigned int flags;
};

static long call_process_madvise(void *arg)
{
	const struct process_madvise_args *a = arg;

	return syscall(SYS_process_madvise, a->pidfd, a->iov, 1, a->advice,
		       a->flags);
}

/*
 * process_madvise() (glibc 2.36): on this process, since Linux 6.13 it
 * takes any advice.  MADV_WIPEONFORK and MADV_GUARD_INSTALL are then
 * given range by range as madvise() gives them (review probe
 * p_wf_bypass).  The bytes advised, up to the first range that fails.
 */
UZ_EXPORT ssize_t process_madvise(int pidfd, const struct iovec *iov,
				  size_t n, int advice, unsigned int flags)
{
	struct process_madvise_args args = { pidfd, NULL, advice, flags };
	ssize_t done = 0;
	long r = 0;
	int saved;

	if ((advice != MADV_WIPEONFORK && advice != MADV_GUARD_INSTALL) ||
	    !agent_here() || !n || !pidfd_is_self(pidfd)) {
		r = syscall(SYS_process_madvise, pidfd, iov, n, advice, flags);
		saved = errno;
		if (advice_changes_flags(advice)) /* (as madvise's) */
			regions_flags_changed();
		errno = saved;
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		args.iov = &iov[i];
		r = (advice == MADV_WIPEONFORK ? wipe_on_fork : guard_install)(
			iov[i].iov_base, iov[i].iov_len, call_process_madvise,
			&args);
		if (r < 0)
			break;
		done += r;
	}
	return done || r >= 0 ? done : -1; /* (errno the failed call's) */
}
