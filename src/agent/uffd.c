/* SPDX-License-Identifier: MIT */
/* Thin wrappers over the userfaultfd ioctls the agent uses. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uffd_compat.h"
#include "uffd.h"

static int uffd_api(int fd, uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (ioctl(fd, UFFDIO_API, &api))
		return -errno;
	if ((api.features & features) != features)
		return -EOPNOTSUPP;
	return 0;
}

int uffd_open(int dev_fd, uint64_t features, int *user_mode_only)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd = -1, err;

	*user_mode_only = 0;
	if (dev_fd >= 0)
		fd = ioctl(dev_fd, USERFAULTFD_IOC_NEW, flags);
	if (fd < 0) {
		/* the daemon hands its device only to those it lets in by
		 * allow=: a program that may open the device itself does */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
			close(dev);
		}
	}
	if (fd < 0)
		fd = syscall(SYS_userfaultfd, flags);
	if (fd < 0 && errno == EPERM) {
		/* Unprivileged without the daemon's device fd: faults taken
		 * inside the kernel (read(2) into an evicted buffer) will
		 * fail with EFAULT, so the caller is told. */
		fd = syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
		*user_mode_only = fd >= 0;
	}
	if (fd < 0)
		return -errno;
	err = uffd_api(fd, features);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int uffd_register(int uffd, uint64_t addr, uint64_t len, uint64_t mode)
{
	struct uffdio_register r = { .range = { addr, len }, .mode = mode };

	return ioctl(uffd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

int uffd_unregister(int uffd, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = { addr, len };

	return ioctl(uffd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

/* The fill ioctls report partial progress in a signed field: a negative
 * value there is an errno, a positive one the bytes done. */
static int progress(int ret, int64_t field, uint64_t *done)
{
	*done = field > 0 ? (uint64_t)field : 0;
	if (!ret)
		return 0;
	return field < 0 ? (int)field : -errno;
}

int uffd_move(int uffd, uint64_t dst, uint64_t src, uint64_t len,
	      uint64_t mode, uint64_t *moved)
{
	struct uffdio_move m = { .dst = dst, .src = src, .len = len, .mode = mode };
	int ret = ioctl(uffd, UFFDIO_MOVE, &m);

	return progress(ret, m.move, moved);
}

int uffd_move_around(int uffd, uint64_t dst, uint64_t src, uint64_t len,
		     int skip_err, int stop_at_start, unsigned *skipped,
		     uint64_t *done)
{
	uint64_t off = 0, moved;
	int err = 0;

	*skipped = 0;
	while (off < len) {
		err = uffd_move(uffd, dst + off, src + off, len - off,
				UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, &moved);
		off += moved;
		if (!err)
			break;
		/* a move that stopped part way also says EAGAIN, with the
		 * bytes it did: that is progress, go on from there */
		if (err == -EAGAIN && moved)
			continue;
		if (err != skip_err || (off == 0 && stop_at_start))
			break;
		(*skipped)++;
		off = (off & ~(uint64_t)(UZ_PAGE_SIZE - 1)) + UZ_PAGE_SIZE;
		err = 0;
	}
	*done = off < len ? off : len;
	return err;
}

int uffd_copy(int uffd, uint64_t dst, const void *src, uint64_t len,
	      uint64_t *done)
{
	struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)src,
				 .len = len };
	int ret = ioctl(uffd, UFFDIO_COPY, &c);

	return progress(ret, c.copy, done);
}

int uffd_zeropage(int uffd, uint64_t dst, uint64_t len, uint64_t *done)
{
	struct uffdio_zeropage z = { .range = { dst, len } };
	int ret = ioctl(uffd, UFFDIO_ZEROPAGE, &z);

	return progress(ret, z.zeropage, done);
}

int uffd_poison(int uffd, uint64_t dst, uint64_t len, uint64_t *done)
{
	struct uffdio_poison p = { .range = { dst, len } };
	int ret = ioctl(uffd, UFFDIO_POISON, &p);

	return progress(ret, p.updated, done);
}

int uffd_wake(int uffd, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = { addr, len };

	return ioctl(uffd, UFFDIO_WAKE, &r) ? -errno : 0;
}

int uffd_op_copy(int uffd, uint64_t dst, const void *src, uint64_t len,
		 uint64_t *done)
{
	return uffd_copy(uffd, dst, src, len, done);
}

int uffd_op_zero(int uffd, uint64_t dst, const void *src, uint64_t len,
		 uint64_t *done)
{
	return uffd_zeropage(uffd, dst, len, done);
}

int uffd_op_poison(int uffd, uint64_t dst, const void *src, uint64_t len,
		   uint64_t *done)
{
	return uffd_poison(uffd, dst, len, done);
}

int uffd_fill_range(int uffd,
		    int (*op)(int, uint64_t, const void *, uint64_t, uint64_t *),
		    uint64_t dst, const uint8_t *src, uint64_t len)
{
	uint64_t off = 0, done;
	int err;

	while (off < len) {
		err = op(uffd, dst + off, src ? src + off : NULL, len - off, &done);
		off += done;
		if (!err)
			break;
		if (err == -EAGAIN && done)
			continue; /* stopped part way: progress */
		if (err == -EEXIST) {
			/* already mapped: the application touched it or it
			 * never left; skip that page */
			off = (off & ~(uint64_t)(UZ_PAGE_SIZE - 1)) + UZ_PAGE_SIZE;
			continue;
		}
		if (err == -ENOENT && len - off > UZ_PAGE_SIZE) {
			/* the rest is not in one registered VMA: an mlock()
			 * or mprotect() of part of it split it.  Page by
			 * page: only a page that is gone itself is skipped */
			uint64_t p;

			for (p = off & ~(uint64_t)(UZ_PAGE_SIZE - 1); p < len; p += UZ_PAGE_SIZE) {
				err = uffd_fill_range(uffd, op, dst + p,
						      src ? src + p : NULL,
						      len - p < UZ_PAGE_SIZE ? len - p : UZ_PAGE_SIZE);
				if (err)
					return err;
			}
			return 0;
		}
		if (err == -ENOENT) {
			/* this page is gone (unmapped, or no longer ours):
			 * nothing to fill, but a thread may still sleep on
			 * a fault we read there */
			uffd_wake(uffd, dst, len);
			return 0;
		}
		return err;
	}
	/* a partial fill that hit EEXIST last may leave waiters asleep */
	uffd_wake(uffd, dst, len);
	return 0;
}
