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

int cg_file_bytes(const char *dir, const char *name, uint64_t *out)
{
	char path[CG_PATH_MAX + 128];
	int fd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = cg_bytes_read(fd, out);
	close(fd);
	return err;
}

int cg_level_limit(const char *dir, int v1, uint64_t *out)
{
	static const char *const files[2][2] = {
		{ "memory.max", "memory.high" },
		{ "memory.limit_in_bytes", NULL },
	};

	*out = CG_NO_LIMIT;
	for (int i = 0; i < 2 && files[!!v1][i]; i++) {
		uint64_t l;
		int err = cg_file_bytes(dir, files[!!v1][i], &l);

		if (err) {
			if (!i)
				return err;
			continue;
		}
		l = cg_v1_limit(l);
		if (l < *out)
			*out = l;
	}
	return 0;
}

uint64_t cg_flat_value(const char *buf, const char *key)
{
	size_t len = strlen(key);
	const char *p = buf;

	for (;;) {
		if (!strncmp(p, key, len))
			return strtoull(p + len, NULL, 10);
		p = strchr(p, '\n');
		if (!p++)
			return 0;
	}
}

int cg_cache_read(int fd, int v1, uint64_t *out)
{
	/* the same keys on v1 (hierarchical totals) and on v2 */
	static const char *const keys[2][5] = {
		{ "inactive_file ", "active_file ", "file_mapped ",
		  "file_dirty ", "file_writeback " },
		{ "total_inactive_file ", "total_active_file ",
		  "total_mapped_file ", "total_dirty ", "total_writeback " },
	};
	const char *const *k = keys[!!v1];
	char buf[8192]; /* v2's memory.stat is about 1.6 KB in 6.18 */
	uint64_t file, kept;
	ssize_t n;

	*out = 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	/* dirty pages and those under writeback are reclaimed once
	 * written, which reclaim at the limit starts (a job writing its
	 * output has them all the time: sort 70 MB); half count, so that
	 * a cgroup full of them has its memory taken before it waits */
	file = cg_flat_value(buf, k[0]) + cg_flat_value(buf, k[1]);
	kept = cg_flat_value(buf, k[2]) + (cg_flat_value(buf, k[3]) +
	       cg_flat_value(buf, k[4])) / 2 + CG_CACHE_RESERVE;
	*out = file > kept ? file - kept : 0;
	return 0;
}
