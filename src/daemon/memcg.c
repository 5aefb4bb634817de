/* SPDX-License-Identifier: MIT */
/* A process's memory cgroup: see memcg.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brake.h"
#include "cgmount.h"
#include "cgpath.h"
#include "checksum.h"
#include "daemon.h"
#include "memcg.h"
#include "procfs.h"
#include "psi.h"

#define PATH_MAX_LEN MEMCG_PATH_MAX

/* The "some avg10" of cgroup v2 @path's memory.pressure (under @root,
 * cgroup v2's mount, "" without one), or PSI_UNKNOWN for the root (whose
 * file, beside v1, says nothing) or without one; the file it came from
 * in @file ("" with none). */
static uint32_t v2_pressure(const char *root, const char *path, char *file,
			    size_t len)
{
	uint32_t p;

	file[0] = 0;
	if (!path[0] || !strcmp(path, "/") || !root[0])
		return PSI_UNKNOWN;
	if ((size_t)snprintf(file, len, "%s%s/memory.pressure", root, path) >= len) {
		file[0] = 0;
		return PSI_UNKNOWN;
	}
	p = psi_some_centi(file);
	if (p == PSI_UNKNOWN)
		file[0] = 0;
	return p;
}

/* One level's usage and limit (the lowest of its limits); a v2 level's
 * memory.high as it was before our brake lowered it (brake.h) */
static int level_read(const char *dir, int v1, uint64_t *usage, uint64_t *limit)
{
	int err = cg_file_bytes(dir, v1 ? "memory.usage_in_bytes" : "memory.current",
			     usage);
	uint64_t was, max;

	if (!err)
		err = cg_level_limit(dir, v1, limit);
	if (err || v1 || !brake_was(dir, &was))
		return err;
	if (cg_file_bytes(dir, "memory.max", &max))
		max = MEMCG_NO_LIMIT;
	max = cg_v1_limit(max);
	*limit = max < was ? max : was;
	return 0;
}

/* Level @dir's page cache the kernel drops at its limit (cgpath.h);
 * 0 when its memory.stat cannot be read. */
static uint64_t level_cache(const char *dir, int v1)
{
	char path[PATH_MAX_LEN + 80];
	uint64_t cache = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		cg_cache_read(fd, v1, &cache);
		close(fd);
	}
	return cache;
}

/* Is a level of @usage (@cache of it page cache) and @limit nearer its
 * limit than @out's?  Page cache left out: a parent full of a sibling's
 * cache hid the job's own, tighter limit (review probe pA). */
static int nearer(uint64_t usage, uint64_t cache, uint64_t limit,
		  const struct memcg_use *out)
{
	uint64_t firm = usage > cache ? usage - cache : 0;

	if (limit == MEMCG_NO_LIMIT)
		return 0;
	return out->limit == MEMCG_NO_LIMIT ||
	       (double)firm / (double)limit >
	       (double)memcg_firm_usage(out) / (double)out->limit;
}

/* The directory of cgroup @path ("/a/b", as in /proc/PID/cgroup) under
 * the hierarchy's mount @root, into @dir: 0 or -ENAMETOOLONG. */
static int cg_dir(char *dir, size_t len, const char *root, const char *path)
{
	size_t n;

	if ((size_t)snprintf(dir, len, "%s%s", root, path) >= len)
		return -ENAMETOOLONG;
	n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		dir[--n] = 0; /* "/" itself: the root directory */
	return 0;
}

/*
 * The level of out->path, itself or an ancestor, whose limit applies:
 * the one nearest its limit (a slice's limit binds the services in it,
 * which have none of their own), or out->path itself when no level has
 * one.  Its usage, limit, directory, id and inode into @out.  @root: the
 * hierarchy's mount.
 */
static int limiting_level(struct memcg_use *out, const char *root)
{
	char dir[sizeof(out->dir)];
	uint64_t usage, limit, cache;
	int have = 0, err;
	struct stat st;

	if (cg_dir(dir, sizeof(dir), root, out->path))
		return -ENAMETOOLONG;
	for (;;) {
		err = level_read(dir, out->v1, &usage, &limit);
		if (err && !have)
			return err; /* the process's own cgroup: it must read */
		cache = !err && limit != MEMCG_NO_LIMIT ? level_cache(dir, out->v1) : 0;
		if (!err && (!have || nearer(usage, cache, limit, out))) {
			out->usage = usage;
			out->limit = limit;
			out->cache = cache;
			snprintf(out->dir, sizeof(out->dir), "%s", dir);
			have = 1;
		}
		/* up one level, the hierarchy's root the last */
		if (strlen(dir) <= strlen(root))
			break;
		*strrchr(dir, '/') = 0;
	}
	out->id = name_hash(out->dir);
	out->path_id = name_hash(out->path);
	out->ino = stat(out->dir, &st) ? 0 : (uint64_t)st.st_ino;
	return 0;
}

/*
 * The cgroup mounts, read again only when our mount table changed: every
 * look at a client read /proc/self/mountinfo twice, the most of the
 * daemon's time with many clients coming and going.  A descriptor of
 * that file polls POLLPRI once after each change (proc(5)); without one,
 * every call reads it, as before.  Main thread only.
 */
static struct {
	int fd, known;
	int v2_err, v1_err;
	char v2[PATH_MAX_LEN], v1[PATH_MAX_LEN];
} mounts = { .fd = -1 };

static void cg_mounts(void)
{
	struct pollfd p = { mounts.fd, POLLPRI, 0 };

	if (mounts.fd < 0)
		mounts.fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	else if (poll(&p, 1, 0) == 1 && (p.revents & (POLLPRI | POLLERR)))
		mounts.known = 0;
	if (mounts.known)
		return;
	mounts.v2_err = cg_mount_find(CG_MOUNT_V2, mounts.v2, sizeof(mounts.v2));
	if (mounts.v2_err)
		mounts.v2[0] = 0;
	mounts.v1_err = cg_mount_find("memory", mounts.v1, sizeof(mounts.v1));
	mounts.known = mounts.fd >= 0;
}

/*
 * Cgroups looked at lately, by a hash of their path, and whether a limit
 * binds them: a new client in one found free of limits is looked at a
 * little later (autoevict.c auto_client_new).  An entry holds for
 * SEEN_MS, and only while the cgroup's own directory and limit are the
 * ones seen: a limit written on it, or the cgroup made again under its
 * name, is noticed at once (a review's probe: a job in a cgroup given a
 * limit after a look found none was OOM-killed in 10 runs of 10 with
 * its look late).  A limit put on an ancestor in that time is not.  A
 * few dozen entries, the oldest replaced: a shell's commands all start
 * in its one.
 */
#define SEEN_SLOTS 32
#define SEEN_MS 250
static struct {
	uint64_t path_id, at_ms, ino, own_limit;
	int v1, limited;
} seen[SEEN_SLOTS];
static unsigned seen_next;

/* Cgroup @path's own directory's inode and own limit (of that level
 * alone) under @root: 0, or -errno. */
static int own_level(const char *root, const char *path, int v1,
		     uint64_t *ino, uint64_t *limit)
{
	char dir[PATH_MAX_LEN + 64];
	struct stat st;
	int err = cg_dir(dir, sizeof(dir), root, path);

	if (err)
		return err;
	if (stat(dir, &st))
		return -errno;
	*ino = (uint64_t)st.st_ino;
	return cg_level_limit(dir, v1, limit);
}

static void seen_note(const struct memcg_use *u)
{
	uint64_t ino, own_limit;
	unsigned i;

	if (own_level(u->v1 ? mounts.v1 : mounts.v2, u->path, u->v1, &ino,
		      &own_limit))
		return;
	for (i = 0; i < SEEN_SLOTS; i++)
		if (seen[i].at_ms && seen[i].path_id == u->path_id &&
		    seen[i].v1 == u->v1)
			break;
	if (i == SEEN_SLOTS)
		i = seen_next++ % SEEN_SLOTS;
	seen[i].path_id = u->path_id;
	seen[i].v1 = u->v1;
	seen[i].ino = ino;
	seen[i].own_limit = own_limit;
	seen[i].limited = u->limit != MEMCG_NO_LIMIT;
	seen[i].at_ms = now_ms();
}

int memcg_unlimited_lately(pid_t pid)
{
	static struct cg_paths cg;
	char path[64];
	const char *p;
	uint64_t id, now = now_ms(), ino, own_limit;
	int v1;
	unsigned i;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (cg_paths_read(path, &cg))
		return 0;
	v1 = cg.memory[0] != 0;
	p = v1 ? cg.memory : cg.v2;
	if (!p[0])
		return 0;
	id = name_hash(p);
	for (i = 0; i < SEEN_SLOTS; i++)
		if (seen[i].at_ms && now - seen[i].at_ms < SEEN_MS &&
		    seen[i].path_id == id && seen[i].v1 == v1)
			break;
	if (i == SEEN_SLOTS || seen[i].limited)
		return 0;
	cg_mounts();
	return !own_level(v1 ? mounts.v1 : mounts.v2, p, v1, &ino, &own_limit) &&
	       ino == seen[i].ino && own_limit == seen[i].own_limit;
}

int memcg_of(pid_t pid, struct memcg_use *out)
{
	static struct cg_paths cg;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", (int)pid,
		 (int)procfs_live_thread(pid));
	err = cg_paths_read(path, &cg);
	if (err)
		return err;
	out->v1 = cg.memory[0] != 0;
	/* the pressure's and (without v1) the limit's */
	cg_mounts();
	out->pressure_centi = v2_pressure(mounts.v2, cg.v2, out->psi_file,
					  sizeof(out->psi_file));
	if (!out->v1 && !cg.v2[0])
		return -ENOENT;
	snprintf(out->path, sizeof(out->path), "%s", out->v1 ? cg.memory : cg.v2);
	if (!out->v1)
		err = mounts.v2_err ? mounts.v2_err : limiting_level(out, mounts.v2);
	else
		err = mounts.v1_err ? mounts.v1_err : limiting_level(out, mounts.v1);
	if (!err)
		seen_note(out);
	return err;
}

const char *memcg_printable(const char *path)
{
	static char buf[MEMCG_PATH_MAX + 64];
	size_t i;

	for (i = 0; path[i] && i < sizeof(buf) - 1; i++) {
		unsigned char c = (unsigned char)path[i];

		buf[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	buf[i] = 0;
	return buf;
}
