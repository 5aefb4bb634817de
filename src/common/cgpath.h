/* SPDX-License-Identifier: MIT */
/* Which cgroups a task is in: the lines of a /proc/.../cgroup file. */
#ifndef UZ_CGPATH_H
#define UZ_CGPATH_H

#define CG_PATH_MAX 4096

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

#endif
