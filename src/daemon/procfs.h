/* SPDX-License-Identifier: MIT */
/* What uzswapd reads from /proc: a client's anonymous RSS and start
 * time, fd kinds. */
#ifndef UZD_PROCFS_H
#define UZD_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* RssAnon of process @pid in bytes.  Returns 0 or -errno. */
int procfs_rss_anon(pid_t pid, uint64_t *bytes);

/* When process @pid started (clock ticks after boot, /proc/PID/stat's
 * 22nd field): with the pid, what tells it from a later process given
 * the same pid.  Returns 0 or -errno. */
int procfs_start_ticks(pid_t pid, uint64_t *ticks);

/* Is our descriptor @fd a memfd?  Returns 1, 0, or -errno. */
int procfs_fd_is_memfd(int fd);

#endif
