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
} kept[PROCMAPS_N] = { { -1, 0, 0 }, { -1, 0, 0 }, { -1, 0, 0 } };

static int open_one(enum procmaps_file which)
{
	struct kept *k = &kept[which];
	struct stat st;
	/* hidden and marked ours: in a table shared with the program (no
	 * table of our own), low numbers were inherited by every fork */
	int fd = fd_hide(open(which == PROCMAPS_MAPS ? "/proc/thread-self/maps" :
				"/proc/thread-self/smaps", O_RDONLY | O_CLOEXEC));

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

int procmaps_fd(enum procmaps_file which)
{
	struct kept *k = &kept[which];

	if (still_ours(k))
		return k->fd;
	k->fd = -1;
	return open_one(which);
}

int procmaps_reopen(enum procmaps_file which)
{
	struct kept *k = &kept[which];

	if (still_ours(k))
		fd_close(k->fd);
	k->fd = -1;
	return open_one(which);
}

void procmaps_open(void)
{
	int i;

	/* an earlier agent thread's, still here in a table shared with the
	 * program (after an aside), go; in a new table a number of theirs
	 * is another's, left alone (still_ours) */
	for (i = 0; i < PROCMAPS_N; i++)
		procmaps_reopen((enum procmaps_file)i);
}

void procmaps_forget(void)
{
	int i;

	/* in a table shared with the program, the child has them: they
	 * would pin the parent's mm (fd_close leaves numbers not marked
	 * ours, as they are in a table of our own) */
	for (i = 0; i < PROCMAPS_N; i++) {
		fd_close(kept[i].fd);
		kept[i].fd = -1;
	}
}
