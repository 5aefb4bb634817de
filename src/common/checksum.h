/* SPDX-License-Identifier: MIT */
/* The checksum every stored frame and disk slot carries (XXH3-64). */
#ifndef UZ_CHECKSUM_H
#define UZ_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t checksum64(const void *p, size_t len, uint64_t seed);

/* FNV-1a of the string @s: a name's id (a cgroup's path, a socket's),
 * not an integrity check. */
uint64_t name_hash(const char *s);

#endif
