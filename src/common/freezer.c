/* SPDX-License-Identifier: MIT */
/* The cgroup v1 freezer: see freezer.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "freezer.h"

int freezer_mount(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return -errno;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - cgroup SRC SUPEROPTS" */
	while (!found && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - cgroup "), *mnt, *opt, *save;
		int field;

		if (!dash)
			continue;
		/* the 5th field is the mount point (no spaces: escaped) */
		mnt = strtok_r(line, " ", &save);
		for (field = 1; mnt && field < 5; field++)
			mnt = strtok_r(NULL, " ", &save);
		/* the super options are the last word */
		opt = strrchr(dash + 10, ' ');
		if (!mnt || !opt || strlen(mnt) >= len)
			continue;
		opt[strcspn(opt, "\n")] = 0;
		for (char *w = strtok_r(opt + 1, ",", &save); w;
		     w = strtok_r(NULL, ",", &save))
			if (!strcmp(w, "freezer")) {
				snprintf(out, len, "%s", mnt);
				found = 1;
				break;
			}
	}
	fclose(f);
	return found ? 0 : -ENODEV;
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

unsigned freezer_thaw_own(pid_t pid)
{
	char mnt[512], path[1024];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (freezer_mount(mnt, sizeof(mnt)))
		return 0;
	d = opendir(mnt);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, UZ_HOLD_PREFIX, strlen(UZ_HOLD_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%d/freezer.state", mnt,
			 de->d_name, (int)pid);
		if (!freezer_write(path, "THAWED"))
			n++;
	}
	closedir(d);
	return n;
}
