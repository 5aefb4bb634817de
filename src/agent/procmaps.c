/* SPDX-License-Identifier: MIT */
/* The scan's /proc files, kept open: see procmaps.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procmaps.h"

static struct kept {
	int fd;
	dev_t dev;
	ino_t ino;
} kept[2] = { { -1, 0, 0 }, { -1, 0, 0 } }; /* maps, smaps */

static int open_one(int smaps)
{
	struct kept *k = &kept[smaps];
	struct stat st;
	int fd = open(smaps ? "/proc/thread-self/smaps" : "/proc/thread-self/maps",
		      O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	__atomic_store_n(&k->fd, fd, __ATOMIC_RELEASE);
	return fd;
}

void procmaps_open(void)
{
	/* a number of an earlier table is not ours to close */
	kept[0].fd = kept[1].fd = -1;
	open_one(0);
	open_one(1);
}

static int still_ours(const struct kept *k)
{
	struct stat st;

	return k->fd >= 0 && !fstat(k->fd, &st) && st.st_dev == k->dev &&
	       st.st_ino == k->ino;
}

int procmaps_fd(int smaps)
{
	struct kept *k = &kept[!!smaps];

	if (still_ours(k))
		return k->fd;
	k->fd = -1;
	return open_one(!!smaps);
}

int procmaps_reopen(int smaps)
{
	struct kept *k = &kept[!!smaps];

	if (still_ours(k))
		close(k->fd);
	k->fd = -1;
	return open_one(!!smaps);
}

void procmaps_forget(void)
{
	kept[0].fd = kept[1].fd = -1;
}
