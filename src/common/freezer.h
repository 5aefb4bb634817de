/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v1 freezer, where uzswapd holds a job at its memory limit
 * (src/daemon/hold.c): where it is mounted, and how an agent whose
 * daemon went away during a hold lets its own process go.
 */
#ifndef UZ_FREEZER_H
#define UZ_FREEZER_H

#include <stddef.h>
#include <sys/types.h>

/* A hold group's name: FREEZER/UZ_HOLD_PREFIX<hash of the socket>/PID */
#define UZ_HOLD_PREFIX "uzswapd-"

/* Write @v to cgroup file @path (freezer.state, cgroup.procs): 0 or
 * -errno. */
int freezer_write(const char *path, const char *v);
/* Thaw every hold group of process @pid (FREEZER/uzswapd-* /PID), as
 * far as we may write its freezer.state: how many were thawed. */
unsigned freezer_thaw_own(pid_t pid);

#endif
