/* SPDX-License-Identifier: MIT */
/* Cgroup mounts: see cgmount.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cgmount.h"

/*
 * Plain read()s into the stack: glibc's fork() holds the malloc and
 * stdio locks while it waits for the agent's thread to read its
 * userfaultfd event (stress: 17 hangs in 18 failing runs with daemon
 * kills when this used stdio).
 */
int each_line(const char *path, int (*fn)(char *line, void *arg), void *arg)
{
	char buf[8192];
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), skipping = 0, r = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (!r) {
		char *l = buf, *nl;

		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		while (!r && (nl = strchr(l, '\n'))) {
			*nl = 0;
			if (!skipping)
				r = fn(l, arg);
			skipping = 0;
			l = nl + 1;
		}
		have -= (size_t)(l - buf);
		memmove(buf, l, have);
		if (have == sizeof(buf) - 1) { /* a line too long: skip it */
			have = 0;
			skipping = 1;
		}
	}
	close(fd);
	return r;
}

struct mount_want {
	const char *hierarchy;
	char *out;
	size_t len;
	int err; /* -ENAMETOOLONG: found, but longer than out */
};

/* Does v1 super-options list @opts ("rw,memory") name @want? */
static int opts_have(char *opts, const char *want)
{
	char *save;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!strcmp(o, want))
			return 1;
	return 0;
}

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SRC SUPEROPTS" */
static int mount_line(char *line, void *arg)
{
	struct mount_want *w = arg;
	char *dash = strstr(line, " - "), *field[5], *type, *opts, *save;
	int v2 = !*w->hierarchy, i;

	if (!dash)
		return 0;
	*dash = 0;
	type = strtok_r(dash + 3, " ", &save);
	strtok_r(NULL, " ", &save); /* the source */
	opts = strtok_r(NULL, " ", &save);
	if (!type || !opts || strcmp(type, v2 ? "cgroup2" : "cgroup"))
		return 0;
	field[0] = strtok_r(line, " ", &save);
	for (i = 1; field[i - 1] && i < 5; i++)
		field[i] = strtok_r(NULL, " ", &save);
	/* the mount point has its spaces escaped: it is one field */
	if (i < 5 || !field[4] || strcmp(field[3], "/") ||
	    (!v2 && !opts_have(opts, w->hierarchy)))
		return 0;
	if (strlen(field[4]) >= w->len) {
		w->err = -ENAMETOOLONG;
		return 0;
	}
	memcpy(w->out, field[4], strlen(field[4]) + 1);
	return 1;
}

int cg_mount_find(const char *hierarchy, char *out, size_t len)
{
	return cg_mount_find_in("/proc/self/mountinfo", hierarchy, out, len);
}

int cg_mount_find_in(const char *mountinfo, const char *hierarchy, char *out,
		     size_t len)
{
	struct mount_want w = { hierarchy, out, len, 0 };
	int r = each_line(mountinfo, mount_line, &w);

	if (r < 0)
		return r;
	return r ? 0 : w.err ? w.err : -ENODEV;
}
