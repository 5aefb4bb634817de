/* SPDX-License-Identifier: MIT */
/* Where the cgroup hierarchies are mounted, from /proc/self/mountinfo. */
#ifndef UZ_CGMOUNT_H
#define UZ_CGMOUNT_H

#include <stddef.h>

/* cg_mount_find's @hierarchy for cgroup v2 */
#define CG_MOUNT_V2 ""

/*
 * The mount point, in our mount namespace, of the root of cgroup
 * hierarchy @hierarchy: CG_MOUNT_V2, a v1 controller ("memory",
 * "freezer") or a named v1 hierarchy ("name=systemd").  A mount of a
 * subtree will not do: /proc/PID/cgroup paths start at the root.  Into
 * @out: 0, or -ENODEV (not mounted), -ENAMETOOLONG, -errno.  No stdio
 * and no malloc: the agent's fault-serving thread calls it.
 */
int cg_mount_find(const char *hierarchy, char *out, size_t len);
/* The same from a mountinfo file of @mountinfo's format (tests). */
int cg_mount_find_in(const char *mountinfo, const char *hierarchy, char *out,
		     size_t len);

/*
 * Call @fn on each line of @path (without its newline) until it returns
 * non-zero, and return that (0 at the end, -errno when @path cannot be
 * opened); a line longer than 8 KB is skipped.  No stdio, no malloc.
 */
int each_line(const char *path, int (*fn)(char *line, void *arg), void *arg);

#endif
