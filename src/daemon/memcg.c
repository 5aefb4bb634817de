/* SPDX-License-Identifier: MIT */
/* A process's memory cgroup: see memcg.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memcg.h"
#include "psi.h"

#define V1_ROOT "/sys/fs/cgroup/memory"
#define V2_ROOT "/sys/fs/cgroup"
#define V2_HYBRID_ROOT "/sys/fs/cgroup/unified" /* beside v1 controllers */
#define PATH_MAX_LEN MEMCG_PATH_MAX

/* A byte count in file @dir/@name ("max": none), or -errno. */
static int read_bytes(const char *dir, const char *name, uint64_t *out)
{
	char path[PATH_MAX_LEN + 64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	if (!strncmp(buf, "max", 3)) {
		*out = MEMCG_NO_LIMIT;
		return 0;
	}
	errno = 0;
	*out = strtoull(buf, NULL, 10);
	return errno ? -errno : 0;
}

static uint64_t path_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* v1's limit: "no limit" is a huge number there (the page counter's
 * maximum, rounded down to pages). */
static uint64_t v1_limit(uint64_t v)
{
	return v >= (1ull << 62) ? MEMCG_NO_LIMIT : v;
}

/* The "some avg10" of cgroup v2 @path's memory.pressure, or PSI_UNKNOWN
 * for the root (whose file, beside v1, says nothing) or without one. */
static uint32_t v2_pressure(const char *path)
{
	char file[PATH_MAX_LEN + 64];
	uint32_t p;

	if (!path[0] || !strcmp(path, "/"))
		return PSI_UNKNOWN;
	snprintf(file, sizeof(file), V2_HYBRID_ROOT "%s/memory.pressure", path);
	p = psi_some_centi(file);
	if (p != PSI_UNKNOWN)
		return p;
	snprintf(file, sizeof(file), V2_ROOT "%s/memory.pressure", path);
	return psi_some_centi(file);
}

int memcg_of(pid_t pid, struct memcg_use *out)
{
	char path[64], line[PATH_MAX_LEN + 64], *dir = out->dir;
	char v2[PATH_MAX_LEN] = "";
	FILE *f;
	int err, found = 0, partial = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "ID:CONTROLLERS:PATH" per hierarchy; v2's is "0::PATH" */
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		int whole = !partial;
		char *w, *save;

		/* a path too long for us is not followed, nor its tail
		 * read as a line of its own */
		partial = !strchr(line, '\n');
		if (!cg || !whole || partial)
			continue;
		*cg++ = 0;
		cg[strcspn(cg, "\n")] = 0;
		if (ctl[1] == 0) {
			snprintf(v2, sizeof(v2), "%s", cg);
			continue;
		}
		for (w = strtok_r(ctl + 1, ",", &save); w; w = strtok_r(NULL, ",", &save))
			if (!strcmp(w, "memory")) {
				snprintf(dir, sizeof(out->dir), V1_ROOT "%s", cg);
				snprintf(out->path, sizeof(out->path), "%s", cg);
				found = 1;
			}
	}
	fclose(f);
	out->v1 = found;
	out->pressure_centi = v2_pressure(v2);
	if (found) {
		err = read_bytes(dir, "memory.usage_in_bytes", &out->usage);
		if (!err)
			err = read_bytes(dir, "memory.limit_in_bytes", &out->limit);
		out->limit = v1_limit(out->limit);
	} else if (v2[0]) {
		uint64_t high = MEMCG_NO_LIMIT;

		snprintf(dir, sizeof(out->dir), V2_ROOT "%s", v2);
		snprintf(out->path, sizeof(out->path), "%s", v2);
		err = read_bytes(dir, "memory.current", &out->usage);
		if (!err)
			err = read_bytes(dir, "memory.max", &out->limit);
		if (!err && !read_bytes(dir, "memory.high", &high) && high < out->limit)
			out->limit = high;
	} else {
		return -ENOENT;
	}
	out->id = path_id(dir);
	return err;
}
