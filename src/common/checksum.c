/* SPDX-License-Identifier: MIT */
/* The checksum every stored frame and disk slot carries (XXH3-64). */
#include <xxhash.h>

#include "checksum.h"

uint64_t checksum64(const void *p, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, len, seed);
}
