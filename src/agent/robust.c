/* SPDX-License-Identifier: MIT */
/*
 * Memory that the kernel reads when a thread exits is never evicted.
 *
 * A robust mutex is one the kernel releases for a thread that dies
 * holding it: at thread exit it walks the thread's robust list (the head
 * in the thread's TCB, the entries inside the locked mutexes) and marks
 * each futex word owner-died.  An exiting thread cannot take a
 * userfault, so a list entry or futex word in an evicted page stops the
 * walk: the mutex stays locked forever, and pthread_mutex_lock() never
 * returns EOWNERDEAD.
 *
 * So each block, once moved out of the application (nothing can add an
 * entry in it then without faulting to us first), is checked against
 * every thread's robust list; a block holding a head, an entry or a futex
 * word is put back.  An entry found in a block evicted earlier (a mutex
 * locked after its eviction... which faults it back, so only by a race)
 * brings that block back too.  The lists are the application's memory
 * and may be garbage: they are read with process_vm_readv (a bad pointer
 * is EFAULT, never a crash), never through a pointer into an evicted
 * block (the agent thread would fault on itself), and at most
 * ROBUST_LIMIT entries a thread, as the kernel does.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blocks.h"
#include "events.h"
#include "inactive.h"
#include "log.h"
#include "restore.h"
#include "robust.h"

#define ROBUST_LIMIT 2048 /* the kernel's ROBUST_LIST_LIMIT */

/* Does [a, a+len) touch block @blk? */
static int in_block(uint64_t a, uint64_t len, uint64_t blk)
{
	return a < blk + UZ_BLOCK_SIZE && a + len > blk;
}

/* Read @len bytes at @addr of our own memory into @out, unless they lie
 * in the block being evicted (@blk: return 1) or in one evicted earlier
 * (bring it back first).  0 read, 1 in @blk, -errno unreadable. */
static int peek(uint64_t addr, void *out, size_t len, uint64_t blk)
{
	struct iovec local = { out, len }, remote = { (void *)(uintptr_t)addr, len };
	uint64_t b;

	if (in_block(addr, len, blk))
		return 1;
	if (inactive_may_hold(addr, len)) {
		if (block_of(addr) != block_of(addr + len - 1))
			return -EAGAIN; /* across two blocks: not worth it */
		/* read where it is now; the block comes back next turn
		 * (this may be an eviction under way: no events now) */
		remote.iov_base = (void *)(uintptr_t)inactive_read_addr(addr);
	}
	for (b = block_of(addr); b < addr + len; b += UZ_BLOCK_SIZE) {
		struct block *evicted;

		if (events_pending_run(b))
			return -EAGAIN;
		evicted = blocks_find(b);

		if (evicted) {
			log_limited(UZ_LOG_INFO, 3, 60, "robust mutex list in "
				    "evicted block %#lx: bringing it back",
				    (unsigned long)b);
			if (restore_all_frames(evicted))
				return -EAGAIN;
		}
	}
	if (syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return -EFAULT;
	return 0;
}

/* What a peek that did not read says: in @blk (1), or could not be read
 * now (-EAGAIN: the rest of the list is unknown, so count it as in use:
 * the block is taken another time), or unreadable for the kernel too. */
static int in_use(int r)
{
	return r > 0 || r == -EAGAIN;
}

/* 1 if thread @tid's robust list has anything in block @blk. */
static int thread_uses(pid_t tid, uint64_t blk)
{
	struct robust_list_head head;
	struct robust_list_head *hp;
	uint64_t entry, first;
	size_t hlen;
	unsigned n;
	int r;

	if (syscall(SYS_get_robust_list, tid, &hp, &hlen) || !hp)
		return 0; /* gone, or never set one */
	r = peek((uintptr_t)hp, &head, sizeof(head), blk);
	if (r)
		return in_use(r);
	first = (uintptr_t)hp;
	/* the lowest bit of each pointer marks a PI futex */
	entry = (uintptr_t)head.list.next & ~1ull;
	for (n = 0; entry && entry != first && n < ROBUST_LIMIT; n++) {
		uint64_t word = entry + head.futex_offset;
		struct robust_list next;

		if (in_block(word, 4, blk))
			return 1;
		r = peek(entry, &next, sizeof(next), blk);
		if (r)
			return in_use(r);
		entry = (uintptr_t)next.next & ~1ull;
	}
	entry = (uintptr_t)head.list_op_pending & ~1ull;
	return entry && (in_block(entry, sizeof(void *), blk) ||
			 in_block(entry + head.futex_offset, 4, blk));
}

static int task_uses(pid_t tid, void *blk)
{
	return thread_uses(tid, *(uint64_t *)blk);
}

int robust_in_block(uint64_t blk)
{
	return tasks_each(task_uses, &blk);
}
