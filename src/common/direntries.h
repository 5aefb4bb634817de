/* SPDX-License-Identifier: MIT */
#ifndef UZ_COMMON_DIRENTRIES_H
#define UZ_COMMON_DIRENTRIES_H

/*
 * The names in a directory, read with getdents64 into the stack: no
 * allocation, for code that may run while another thread of the
 * program holds malloc's lock (the agent's thread serving that
 * thread's fault, a signal handler).
 */

/* Call @fn on each name in the directory @path ("." and ".." too) until
 * it returns non-zero; returns that value, 0 after the last name, or
 * -errno when the directory cannot be opened or read. */
int dir_each(const char *path, int (*fn)(const char *name, void *arg), void *arg);

#endif
