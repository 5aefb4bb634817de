/* SPDX-License-Identifier: MIT */
/* The cgroup v1 freezer: see freezer.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgmount.h"
#include "direntries.h"
#include "freezer.h"

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

	if (cg_mount_find("freezer", mnt, sizeof(mnt)))
		return 0;
	/* every hold group's PID: not /proc/PID/cgroup, which is the main
	 * thread's (one that ended stays where it was when the rest of the
	 * process was moved), nor ours (the agent's threads are moved back
	 * out, to serve faults during the hold) */
	dir_each(mnt, thaw_in_group, &w);
	return w.thawed;
}
