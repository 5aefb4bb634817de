/* SPDX-License-Identifier: MIT */
/* What uzswapd reads from /proc: a client's anonymous RSS, fd kinds. */
#ifndef UZD_PROCFS_H
#define UZD_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* RssAnon of process @pid in bytes.  Returns 0 or -errno. */
int procfs_rss_anon(pid_t pid, uint64_t *bytes);

/* Is our descriptor @fd a memfd?  Returns 1, 0, or -errno. */
int procfs_fd_is_memfd(int fd);

#endif
