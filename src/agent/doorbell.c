/* SPDX-License-Identifier: MIT */
/*
 * The agent's descriptors live in a table of the agent thread's own
 * (fds.c), so the application's threads, which make requests (loop.c),
 * hold none of them, not even an eventfd to say "look".  They ring a
 * doorbell instead: a page of ours, registered on a userfaultfd that
 * asks for UFFD_FEATURE_EVENT_REMOVE.  MADV_DONTNEED of that page makes
 * the kernel queue a REMOVE event there, which wakes the agent thread's
 * poll; the caller returns once the event has been read.  Nothing of
 * ours touches the page, but the application's mlock()/mlockall() fault
 * it in: those faults are served with a zero page (and a locked page is
 * unlocked before it can be dropped).  No EVENT_FORK: a forked child's
 * copy of the page is unregistered, and the child rings one of its own.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "doorbell.h"
#include "fds.h"
#include "uffd.h"
#include "uffd_compat.h"

static int bell_fd = -1;
static void *bell_page;

int doorbell_open(int dev_fd)
{
	int umo, fd, err;

	if (!bell_page)
		bell_page = map_anon(UZ_PAGE_SIZE, 0);
	if (!bell_page)
		return -ENOMEM;
	fd = uffd_open(dev_fd, UFFD_FEATURE_EVENT_REMOVE, &umo);
	if (fd < 0)
		return fd;
	err = uffd_register(fd, (uintptr_t)bell_page, UZ_PAGE_SIZE,
			    UFFDIO_REGISTER_MODE_MISSING);
	if (err) {
		close(fd);
		return err;
	}
	bell_fd = fd_hide(fd);
	return 0;
}

int doorbell_fd(void)
{
	return bell_fd;
}

/* the raw calls: madvise() is interposed, and would come back here */
static int drop_page(void)
{
	return (int)syscall(SYS_madvise, bell_page, UZ_PAGE_SIZE, MADV_DONTNEED);
}

void doorbell_ring(void)
{
	if (!bell_page)
		return;
	if (drop_page() && errno == EINVAL) {
		/* the application's mlockall() locked it: locked pages
		 * cannot be dropped */
		syscall(SYS_munlock, bell_page, UZ_PAGE_SIZE);
		drop_page();
	}
}

int doorbell_drain(void)
{
	struct uffd_msg m[16];
	ssize_t n;
	int rung = 0, i;

	if (bell_fd < 0)
		return 0;
	while ((n = read(bell_fd, m, sizeof(m))) > 0) {
		rung = 1;
		for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++)
			if (m[i].event == UFFD_EVENT_PAGEFAULT &&
			    uffd_fill_range(bell_fd, uffd_op_zero,
					    (uintptr_t)bell_page, NULL, UZ_PAGE_SIZE))
				uffd_wake(bell_fd, (uintptr_t)bell_page, UZ_PAGE_SIZE);
	}
	return rung;
}

void doorbell_forget(void)
{
	fd_forget(bell_fd);
	bell_fd = -1;
}
