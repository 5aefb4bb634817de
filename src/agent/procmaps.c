/* SPDX-License-Identifier: MIT */
/* The scan's /proc files, kept open: see procmaps.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fds.h"
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
	/* hidden and marked ours: in a table shared with the program (no
	 * table of our own), low numbers were inherited by every fork */
	int fd = fd_hide(open(smaps ? "/proc/thread-self/smaps" :
				      "/proc/thread-self/maps", O_RDONLY | O_CLOEXEC));

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		fd_close(fd);
		return err;
	}
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	__atomic_store_n(&k->fd, fd, __ATOMIC_RELEASE);
	return fd;
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
		fd_close(k->fd);
	k->fd = -1;
	return open_one(!!smaps);
}

void procmaps_open(void)
{
	/* an earlier agent thread's, still here in a table shared with the
	 * program (after an aside), go; in a new table a number of theirs
	 * is another's, left alone (still_ours) */
	procmaps_reopen(0);
	procmaps_reopen(1);
}

void procmaps_forget(void)
{
	/* in a table shared with the program, the child has them: they
	 * would pin the parent's mm (fd_close leaves numbers not marked
	 * ours, as they are in a table of our own) */
	fd_close(kept[0].fd);
	fd_close(kept[1].fd);
	kept[0].fd = kept[1].fd = -1;
}
