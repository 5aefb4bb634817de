/* SPDX-License-Identifier: MIT */
/* The checksum every stored frame and disk slot carries (XXH3-64). */
#include <xxhash.h>

#include "checksum.h"

uint64_t checksum64(const void *p, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, len, seed);
}

uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}
