/* SPDX-License-Identifier: MIT */
/* The cgroup v1 freezer: see freezer.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "direntries.h"
#include "freezer.h"

/*
 * Call @fn on each line of @path (without its newline) until it returns
 * non-zero; a line longer than the buffer is skipped.  Plain read()s into
 * the stack, no stdio, no malloc: the agent's fault-serving thread calls
 * this, and glibc's fork() holds the malloc and stdio locks while it
 * waits for that very thread to read its userfaultfd event (stress:
 * 17 hangs in 18 failing runs with daemon kills).
 */
static int each_line(const char *path, int (*fn)(char *line, void *arg),
		     void *arg)
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
	return r > 0 ? r : 0;
}

struct mount_want {
	char *out;
	size_t len;
};

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - cgroup SRC SUPEROPTS" */
static int freezer_line(char *line, void *arg)
{
	struct mount_want *w = arg;
	char *dash = strstr(line, " - cgroup "), *mnt, *opt, *save;
	int field;

	if (!dash)
		return 0;
	/* the 5th field is the mount point (no spaces: escaped) */
	mnt = strtok_r(line, " ", &save);
	for (field = 1; mnt && field < 5; field++)
		mnt = strtok_r(NULL, " ", &save);
	/* the super options are the last word */
	opt = strrchr(dash + 10, ' ');
	if (!mnt || !opt || strlen(mnt) >= w->len)
		return 0;
	for (char *o = strtok_r(opt + 1, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!strcmp(o, "freezer")) {
			memcpy(w->out, mnt, strlen(mnt) + 1);
			return 1;
		}
	return 0;
}

int freezer_mount(char *out, size_t len)
{
	struct mount_want w = { out, len };
	int r = each_line("/proc/self/mountinfo", freezer_line, &w);

	return r < 0 ? r : r ? 0 : -ENODEV;
}

int freezer_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0)
		err = -errno;
	close(fd);
	return err;
}

struct thaw_walk {
	const char *mnt;
	pid_t pid;
	unsigned thawed;
};

static int thaw_in_group(const char *name, void *arg)
{
	struct thaw_walk *w = arg;
	char path[1100];

	if (strncmp(name, UZ_HOLD_PREFIX, strlen(UZ_HOLD_PREFIX)))
		return 0;
	snprintf(path, sizeof(path), "%s/%s/%d/freezer.state", w->mnt, name,
		 (int)w->pid);
	if (!freezer_write(path, "THAWED"))
		w->thawed++;
	return 0;
}

unsigned freezer_thaw_own(pid_t pid)
{
	char mnt[512];
	struct thaw_walk w = { mnt, pid, 0 };

	if (freezer_mount(mnt, sizeof(mnt)))
		return 0;
	/* every hold group's PID: not /proc/PID/cgroup, which is the main
	 * thread's (one that ended stays where it was when the rest of the
	 * process was moved), nor ours (the agent's threads are moved back
	 * out, to serve faults during the hold) */
	dir_each(mnt, thaw_in_group, &w);
	return w.thawed;
}
