/* SPDX-License-Identifier: MIT */
/* The names in a directory, without malloc (direntries.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "direntries.h"

int dir_each(const char *path, int (*fn)(const char *name, void *arg), void *arg)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;
	long got = 0, at;

	if (fd < 0)
		return -errno;
	while (!ret && (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (at = 0; at < got && !ret;) {
			const struct dirent64 *de = (const void *)(buf + at);

			at += de->d_reclen;
			ret = fn(de->d_name, arg);
		}
	if (!ret && got < 0)
		ret = -errno;
	close(fd);
	return ret;
}
