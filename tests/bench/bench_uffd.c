/* SPDX-License-Identifier: MIT */
/*
 * The userfaultfd floor: what any swap that serves faults in a thread of
 * its own pays on this machine before it has decoded a byte.  The data is
 * kept whole in a private copy; a thread spinning on a non-blocking
 * userfaultfd answers each fault with one UFFDIO_COPY of the faulting 4 KB
 * page from it.  uzswap's agent does at least this much more work per
 * fault (find the block, read and check the frame, decode), so its
 * random64_sparse cannot beat this figure.  For the sparse workloads: a
 * reader of every page would fault 16 times per 64 KB here.
 */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static int uffd = -1;
static uint8_t *copy;	/* the data as filled */
static uint8_t *base;	/* the bench's data, registered */
static uint64_t faults;

static void *serve(void *arg)
{
	struct uffd_msg m;

	(void)arg;
	for (;;) {
		struct uffdio_copy c;
		uint64_t at;

		if (read(uffd, &m, sizeof(m)) != sizeof(m)) {
			if (errno != EAGAIN)
				bench_die(BC_EXIT_ERROR, "uffd read: %s", strerror(errno));
			continue; /* spin: the next fault is microseconds away */
		}
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		at = (m.arg.pagefault.address - (uint64_t)base) & ~(BC_PAGE - 1);
		c.dst = (uint64_t)base + at;
		c.src = (uint64_t)copy + at;
		c.len = BC_PAGE;
		c.mode = 0;
		c.copy = 0;
		if (ioctl(uffd, UFFDIO_COPY, &c) && errno != EEXIST)
			bench_die(BC_EXIT_ERROR, "UFFDIO_COPY: %s", strerror(errno));
		__atomic_add_fetch(&faults, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void uffd_prepare(struct bench *b)
{
	struct uffdio_api api = { .api = UFFD_API };

	if (b->work->order != BO_RANDOM64_SPARSE && b->work->order != BO_STRIDE64)
		bench_die(BC_EXIT_USAGE, "the userfaultfd floor is for the "
					 "sparse workloads");
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		bench_die(BC_EXIT_SKIP, "no userfaultfd: %s", strerror(errno));
}

/* "Take away": keep a copy, drop the pages, fault them in from the copy */
static void uffd_evict(struct bench *b)
{
	struct uffdio_register r = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t t;
	double t0 = bench_now(), dt;

	base = b->data;
	copy = bench_map(b->size, 0);
	memcpy(copy, b->data, b->size);
	r.range.start = (uint64_t)b->data;
	r.range.len = b->size;
	if (ioctl(uffd, UFFDIO_REGISTER, &r))
		bench_die(BC_EXIT_ERROR, "UFFDIO_REGISTER: %s", strerror(errno));
	if (madvise(b->data, b->size, MADV_DONTNEED))
		bench_die(BC_EXIT_ERROR, "MADV_DONTNEED: %s", strerror(errno));
	if (pthread_create(&t, NULL, serve, NULL))
		bench_die(BC_EXIT_ERROR, "pthread_create failed");
	pthread_detach(t);
	dt = bench_now() - t0;
	bench_out_num(b, "evict_s", dt);
	bench_out_num(b, "evict_gbps", b->size / dt / 1e9);
	bench_out_num(b, "out_pct", 100 - bench_smaps_pct(b, "Rss"));
	bench_out_num(b, "pool_bytes", b->size);
	bench_out_num(b, "ratio", 1);
}

static void uffd_after_read(struct bench *b)
{
	bench_out_num(b, "uffd_faults", __atomic_load_n(&faults, __ATOMIC_RELAXED));
}

const struct system_ops sys_uffd = {
	.name = "uffd",
	.prepare = uffd_prepare,
	.evict = uffd_evict,
	.after_read = uffd_after_read,
};
