/* SPDX-License-Identifier: MIT */
/* A process's memory cgroup: how much it uses against its limit. */
#ifndef UZD_MEMCG_H
#define UZD_MEMCG_H

#include <stdint.h>
#include <sys/types.h>

#include "cgpath.h"

#define MEMCG_NO_LIMIT CG_NO_LIMIT

#define MEMCG_PATH_MAX 4096

/* A process's memory cgroup (path) and the level of it, itself or an
 * ancestor, whose limit binds it: the one nearest its limit (usage,
 * limit, dir, id, ino); itself when no level has a limit. */
struct memcg_use {
	uint64_t usage; /* bytes charged now (to that level) */
	uint64_t limit; /* the lowest of its limits, or MEMCG_NO_LIMIT */
	/* of usage, the page cache the kernel drops at the limit before it
	 * calls the OOM killer (cg_cache_read); 0 without a limit */
	uint64_t cache;
	uint64_t id;	/* tells levels apart (a hash of dir) */
	uint64_t ino;	/* and a level from one made again at that path */
	/* its memory pressure: "some avg10" x 100 of its cgroup v2
	 * memory.pressure, or PSI_UNKNOWN (in the root, or no cgroup v2) */
	uint32_t pressure_centi;
	char psi_file[MEMCG_PATH_MAX + 64]; /* that memory.pressure, or "" */
	char path[MEMCG_PATH_MAX]; /* as in /proc/PID/cgroup: "/a/b" */
	uint64_t path_id;	   /* a hash of path */
	int v1;			   /* cgroup v1's memory controller */
	char dir[MEMCG_PATH_MAX + 64]; /* that level's directory */
};

/* What of @cg's usage counts against its limit: its page cache does
 * not (a job's input read once stays cached until the limit is met; the
 * kernel drops it first, so taking the job's memory instead keeps it). */
static inline uint64_t memcg_firm_usage(const struct memcg_use *cg)
{
	return cg->usage > cg->cache ? cg->usage - cg->cache : 0;
}

/*
 * The memory cgroup of process @pid, from /proc/PID/cgroup: cgroup v1's
 * memory controller (memory.usage_in_bytes, memory.limit_in_bytes) when
 * it has one, else cgroup v2 (memory.current, the lower of memory.max
 * and memory.high), under the hierarchy's mount (cg_mount_find).  The
 * pressure is that of its cgroup v2 (mounted beside v1 or alone), whose
 * PSI needs no controller.
 * 0, or -errno (no such process, no memory controller).
 */
int memcg_of(pid_t pid, struct memcg_use *out);

/* Is process @pid in a memory cgroup that memcg_of found, in the last
 * 250 ms, with no limit on it or above it, and whose own directory and
 * limit are still the ones it found?  0 when it was not looked at so
 * lately, has a limit, or changed. */
int memcg_unlimited_lately(pid_t pid);

/* @path with every byte that is not printable ASCII as '?', for the
 * log and uzswapctl (anyone who may name a cgroup may put a terminal's
 * escapes in it); a static buffer. */
const char *memcg_printable(const char *path);

#endif
