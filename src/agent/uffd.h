/* SPDX-License-Identifier: MIT */
/* Thin wrappers over the userfaultfd ioctls the agent uses. */
#ifndef UZ_AGENT_UFFD_H
#define UZ_AGENT_UFFD_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

/* Features the application's uffd asks for. */
#define UZ_UFFD_FEATURES                                                  \
	(UFFD_FEATURE_MOVE | UFFD_FEATURE_EVENT_REMOVE |                  \
	 UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP |            \
	 UFFD_FEATURE_POISON | UFFD_FEATURE_THREAD_ID)

/*
 * A new userfaultfd with @features.  With @dev_fd (an fd of
 * /dev/userfaultfd from the daemon) >= 0 it handles kernel-mode faults
 * even for an unprivileged process; otherwise userfaultfd(2) is tried,
 * then with UFFD_USER_MODE_ONLY.  Returns the fd or -errno.
 */
UZ_HIDDEN int uffd_open(int dev_fd, uint64_t features, int *user_mode_only);

UZ_HIDDEN int uffd_register(int uffd, uint64_t addr, uint64_t len, uint64_t mode);
UZ_HIDDEN int uffd_unregister(int uffd, uint64_t addr, uint64_t len);

/*
 * Move @len bytes from @src to @dst.  Returns 0 when all moved, else
 * -errno with *moved set to the bytes moved before the error.
 */
UZ_HIDDEN int uffd_move(int uffd, uint64_t dst, uint64_t src, uint64_t len,
		 uint64_t mode, uint64_t *moved);
/*
 * Move [src, src+len) to @dst, stepping over each page that fails with
 * @skip_err (EBUSY: the source page stays; EEXIST: the destination page
 * wins), counted in *@skipped.  Stops at once on @skip_err at offset 0
 * when @stop_at_start (a shared THP: leave it whole).  Returns 0, or
 * -errno with *@done the bytes covered before it.  -EAGAIN with nothing
 * moved is returned, never retried here: the kernel refuses moves while
 * an event (remove, unmap, remap) waits to be read, and only the
 * caller's thread reads it.  (A move that stopped part way says EAGAIN
 * too, with the bytes done: that is progress and goes on.)
 */
UZ_HIDDEN int uffd_move_around(int uffd, uint64_t dst, uint64_t src, uint64_t len,
			       int skip_err, int stop_at_start, unsigned *skipped,
			       uint64_t *done);

/* Copy/zero-fill/poison [dst, dst+len): same return convention. */
UZ_HIDDEN int uffd_copy(int uffd, uint64_t dst, const void *src, uint64_t len,
		 uint64_t *done);
UZ_HIDDEN int uffd_zeropage(int uffd, uint64_t dst, uint64_t len, uint64_t *done);
UZ_HIDDEN int uffd_poison(int uffd, uint64_t dst, uint64_t len, uint64_t *done);
UZ_HIDDEN int uffd_wake(int uffd, uint64_t addr, uint64_t len);

/*
 * Fill [dst, dst+len) page by page with @op, skipping pages that are
 * already mapped (EEXIST): the application's own page always wins.
 * @op is one of the three fill wrappers above; @src may be NULL for
 * zeropage and poison.  Returns 0 or -errno (-EAGAIN: retry later).
 */
UZ_HIDDEN int uffd_fill_range(int uffd,
		       int (*op)(int, uint64_t, const void *, uint64_t, uint64_t *),
		       uint64_t dst, const uint8_t *src, uint64_t len);

/* Adapters with the fill signature. */
UZ_HIDDEN int uffd_op_copy(int uffd, uint64_t dst, const void *src, uint64_t len, uint64_t *done);
UZ_HIDDEN int uffd_op_zero(int uffd, uint64_t dst, const void *src, uint64_t len, uint64_t *done);
UZ_HIDDEN int uffd_op_poison(int uffd, uint64_t dst, const void *src, uint64_t len, uint64_t *done);

#endif
