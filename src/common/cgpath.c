/* SPDX-License-Identifier: MIT */
/* A task's cgroups: see cgpath.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgpath.h"

/* One "ID:CONTROLLERS:PATH" line, NUL-terminated, into @out. */
static void take_line(char *line, struct cg_paths *out)
{
	char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
	char *w, *save;

	if (!cg)
		return;
	*cg++ = 0;
	if (strlen(cg) >= CG_PATH_MAX)
		return; /* not followed: a path cut short is another one */
	if (ctl[1] == 0) {
		snprintf(out->v2, sizeof(out->v2), "%s", cg);
		return;
	}
	for (w = strtok_r(ctl + 1, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "memory"))
			snprintf(out->memory, sizeof(out->memory), "%s", cg);
		else if (!strcmp(w, "freezer"))
			snprintf(out->freezer, sizeof(out->freezer), "%s", cg);
	}
}

int cg_paths_read(const char *file, struct cg_paths *out)
{
	/* no stdio: the agent reads it, and malloc's lock may be held by
	 * a thread that waits for the agent */
	static char buf[16 * CG_PATH_MAX]; /* a dozen v1 hierarchies */
	size_t have = 0;
	char *line, *nl;
	ssize_t n;
	int fd;

	out->memory[0] = out->freezer[0] = out->v2[0] = 0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (have < sizeof(buf) - 1 &&
	       (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	buf[have] = 0;
	/* whole lines only: one cut short by our buffer is left out */
	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = 0;
		take_line(line, out);
	}
	return 0;
}

int cg_bytes_read(int fd, uint64_t *out)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -EINVAL;
	buf[n] = 0;
	if (!strncmp(buf, "max", 3)) {
		*out = CG_NO_LIMIT;
		return 0;
	}
	errno = 0;
	*out = strtoull(buf, NULL, 10);
	return errno ? -errno : 0;
}
