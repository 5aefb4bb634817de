/* SPDX-License-Identifier: MIT */
/* What uzswapd reads from /proc: a client's anonymous RSS, fd kinds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "procfs.h"

#define UZ_STATUS_MAX 4096 /* /proc/PID/status is ~1.5 KB */

int procfs_rss_anon(pid_t pid, uint64_t *bytes)
{
	char path[64], buf[UZ_STATUS_MAX], *p;
	uint64_t kb;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	p = strstr(buf, "\nRssAnon:");
	/* kernel threads and zombies have no RssAnon line */
	if (!p || sscanf(p + 9, "%" SCNu64, &kb) != 1)
		return -ENODATA;
	*bytes = kb << 10;
	return 0;
}

/*
 * A memfd: sealable shmem (F_GET_SEALS answers for shmem only), a regular
 * file of tmpfs's kind, and its /proc/self/fd link reads "/memfd:NAME
 * (deleted)".  The link alone is no proof: in a user namespace of its
 * own, anyone can mount a filesystem where a path reads the same, FUSE
 * among them, whose reads would wait for ever.  Reads of shmem never do.
 */
int procfs_fd_is_memfd(int fd)
{
	char path[64], link[64];
	struct statfs fs;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &fs) ||
	    fs.f_type != TMPFS_MAGIC || fcntl(fd, F_GET_SEALS) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	return !strncmp(link, "/memfd:", 7);
}
