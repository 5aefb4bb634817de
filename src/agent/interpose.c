/* SPDX-License-Identifier: MIT */
/*
 * mmap, munmap and mremap as the application calls them.  They issue the
 * system call themselves (no dlsym, no allocation) and keep the API's
 * registrations and hints to memory that still exists: a range that is
 * unmapped, mapped over or moved away loses them.  What to evict is found
 * by scanning /proc/self/maps (glibc's own calls bypass any interposer),
 * and evicted data follows the uffd's UNMAP and REMAP events.  They take
 * no lock across the system call: munmap of an evicted range waits for
 * the agent thread to read the UNMAP event.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "loop.h"
#include "regions.h"
#include "uzswap.h"

#define UZ_EXPORT __attribute__((visibility("default")))

UZ_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	void *p = r == -1 ? MAP_FAILED : (void *)r;

	if (p != MAP_FAILED && (flags & MAP_FIXED))
		/* mapped over: whatever was said of the old memory is void */
		regions_note_unmap((uintptr_t)p, len);
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

UZ_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	void *p;
	va_list ap;
	long r;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	r = syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	if (r == -1 && errno == EFAULT && uz_agent.active && !loop_is_agent_thread()) {
		/* a block partly restored stays registered on the uffd, a VMA
		 * of its own, and mremap wants one VMA: bring the range back
		 * (it is unregistered and merges again), then try once more */
		int saved = errno;

		if (!loop_request(LOOP_RESTORE_RANGE, (uintptr_t)old, old_len))
			r = syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
		else
			errno = saved;
	}
	p = r == -1 ? MAP_FAILED : (void *)r;
	if (p != MAP_FAILED && p != old) {
		/* the old range is gone; the stored copy follows through
		 * the REMAP event */
		regions_note_unmap((uintptr_t)old, old_len);
	}
	return p;
}

/*
 * MADV_WIPEONFORK: a child must read that memory as zeros, but a child
 * shares what is stored.  Mark it hot (never evicted again; unmapping it
 * forgets that) and bring back what is evicted before the kernel sets
 * the flag.  The eviction scan also skips memory that has the flag
 * already (smaps VmFlags "wf").
 */
UZ_EXPORT int madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_WIPEONFORK && uz_agent.active && len &&
	    !loop_is_agent_thread()) {
		regions_hint((uintptr_t)addr, len, UZSWAP_HINT_HOT);
		loop_request(LOOP_RESTORE_RANGE, (uintptr_t)addr, len);
	}
	return (int)syscall(SYS_madvise, addr, len, advice);
}
