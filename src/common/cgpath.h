/* SPDX-License-Identifier: MIT */
/* Which cgroups a task is in: the lines of a /proc/.../cgroup file. */
#ifndef UZ_CGPATH_H
#define UZ_CGPATH_H

#include <stdint.h>

#define CG_PATH_MAX 4096
#define CG_NO_LIMIT UINT64_MAX

/* A task's place in cgroup v1's memory and freezer hierarchies and in
 * cgroup v2 ("" where it is in none): paths as the file gives them,
 * "/a/b", from the hierarchy's root. */
struct cg_paths {
	char memory[CG_PATH_MAX];
	char freezer[CG_PATH_MAX];
	char v2[CG_PATH_MAX];
};

/*
 * Read @file (/proc/PID/cgroup, /proc/thread-self/cgroup ...) into
 * @out.  "ID:CONTROLLERS:PATH" per hierarchy, v2's "0::PATH"; a path
 * too long for us is left out.  No stdio and no malloc (the agent's
 * thread calls it), but a static buffer: one thread at a time.  0, or
 * -errno when the file cannot be opened.
 */
int cg_paths_read(const char *file, struct cg_paths *out);

/* The byte count in cgroup file @fd (from its start; "max": CG_NO_LIMIT):
 * 0, or -errno.  No stdio either. */
int cg_bytes_read(int fd, uint64_t *out);
/* The same of file @dir/@name: 0, or -errno. */
int cg_file_bytes(const char *dir, const char *name, uint64_t *out);

/* Page cache a cgroup's limit does not bind: kept back from what
 * memory.stat counts as reclaimable, for pages reclaim leaves. */
#define CG_CACHE_RESERVE (16ull << 20)

/*
 * The page cache the kernel reclaims from a cgroup at its limit before
 * it calls the OOM killer, from its memory.stat in @fd (@v1: the
 * hierarchy's total_ keys): file pages, active and inactive, less the
 * mapped (programs' text, which reclaim keeps), half the dirty and those
 * under writeback (reclaim has them written first), and CG_CACHE_RESERVE.  Read
 * afresh each time: the cache goes as restores and the job charge, and
 * a stale figure lets a restore meet the OOM killer.  No stdio.  0, or
 * -errno (then *@out is 0).
 */
int cg_cache_read(int fd, int v1, uint64_t *out);

/* The value of key @key (its name and a space: "high ") in the text
 * @buf of a flat-keyed cgroup file (memory.stat, memory.events), or 0. */
uint64_t cg_flat_value(const char *buf, const char *key);

/* The lowest limit of cgroup level @dir (CG_NO_LIMIT: none): v1
 * memory.limit_in_bytes, v2 the lower of memory.max and memory.high (the
 * latter when readable).  0, or -errno when the first cannot be read.
 * No stdio. */
int cg_level_limit(const char *dir, int v1, uint64_t *out);

/* A v1 limit as a limit: "none" is a huge number there (the page
 * counter's maximum, rounded down to pages). */
static inline uint64_t cg_v1_limit(uint64_t v)
{
	return v >= (1ull << 62) ? CG_NO_LIMIT : v;
}

#endif
