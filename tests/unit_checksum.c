/* SPDX-License-Identifier: MIT */
/* checksum64 is XXH3-64, and frame checksums cover kind, length, bytes. */
#include <string.h>
#include <xxhash.h>

#include "checksum.h"
#include "frame.h"
#include "t.h"

static unsigned char buf[UZ_FRAME_SIZE + 16];

int main(void)
{
	uint64_t seed = 1, c, c2;
	size_t i, len;

	/* the published XXH3-64 of nothing, seed 0 */
	t_check(checksum64("", 0, 0) == 0x2d06800538d394c2ull);
	t_check(checksum64(NULL, 0, 0) == 0x2d06800538d394c2ull);
	t_rand_fill(buf, sizeof(buf), &seed);
	/* every length class of XXH3 (0-16, 17-128, 129-240, long) */
	for (len = 0; len <= UZ_FRAME_SIZE; len = len < 300 ? len + 1 : len * 2)
		t_check(checksum64(buf, len, 7) == XXH3_64bits_withSeed(buf, len, 7));
	/* independent of alignment */
	c = checksum64(buf, 4096, 3);
	for (i = 1; i < 16; i++) {
		memmove(buf + i, buf + i - 1, 4096);
		t_check(checksum64(buf + i, 4096, 3) == c);
	}
	/* the seed matters; every single-bit flip is seen */
	t_check(checksum64(buf, 4096, 1) != checksum64(buf, 4096, 2));
	c = checksum64(buf, UZ_FRAME_SIZE, 0);
	for (i = 0; i < UZ_FRAME_SIZE * 8; i += 61) {
		buf[i / 8] ^= 1u << (i % 8);
		c2 = checksum64(buf, UZ_FRAME_SIZE, 0);
		buf[i / 8] ^= 1u << (i % 8);
		t_assert(c2 != c, "flip of bit %zu not seen", i);
	}
	/* frame checksums: kind and length are part of it */
	c = frame_checksum(UZ_FRAME_RAW, buf, UZ_FRAME_SIZE);
	t_check(c == frame_checksum(UZ_FRAME_RAW, buf, UZ_FRAME_SIZE));
	t_check(c != frame_checksum(UZ_FRAME_LZ4, buf, UZ_FRAME_SIZE));
	t_check(c != checksum64(buf, UZ_FRAME_SIZE, 0));
	t_check(frame_checksum(UZ_FRAME_ZERO, NULL, 0) !=
		frame_checksum(UZ_FRAME_FILL, NULL, 0));
	memset(buf, 0, 16);
	t_check(frame_checksum(UZ_FRAME_LZ4, buf, 8) !=
		frame_checksum(UZ_FRAME_LZ4, buf, 9));
	return 0;
}
