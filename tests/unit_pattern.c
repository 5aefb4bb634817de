/* SPDX-License-Identifier: MIT */
/* The test pattern: deterministic, checkable, and every frame kind. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "codec.h"
#include "frame.h"
#include "t.h"

#define LEN (32ul << 20)

int main(void)
{
	unsigned kinds[6] = { 0 };
	struct uz_frame_desc d;
	struct codec *c = codec_open(UZ_CODEC_LZ4, 1);
	unsigned char *p, *q, *out;
	uint64_t t0, t1;
	size_t f, off;
	long bad;

	p = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out = t_guard_alloc(frame_bound());
	t_check(p != MAP_FAILED && c);
	q = p + LEN;
	t0 = t_now_ns();
	t_fill_pattern(p, LEN, 1);
	t1 = t_now_ns();
	t_check_eq(t_check_pattern(p, LEN, 1), -1);
	printf("fill %.0f MB/s, check %.0f MB/s\n", LEN / 1e6 / ((t1 - t0) / 1e9),
	       LEN / 1e6 / ((t_now_ns() - t1) / 1e9));
	/* deterministic; a prefix and an odd length check alike */
	t_fill_pattern(q, LEN, 1);
	t_check(!memcmp(p, q, LEN));
	t_check_eq(t_check_pattern(p, 3 * 4096 + 100, 1), -1);
	t_fill_pattern(q, 5000, 1);
	t_check(!memcmp(p, q, 5000));
	/* another seed differs; a changed byte is found where it is */
	t_check(t_check_pattern(p, LEN, 2) >= 0);
	for (off = 1; off < LEN; off = off * 3 + 7) {
		p[off] ^= 0x40;
		bad = t_check_pattern(p, LEN, 1);
		p[off] ^= 0x40;
		t_assert(bad == (long)off, "byte %zu changed, found at %ld", off, bad);
	}
	/* the frames are of every kind */
	for (f = 0; f < LEN / UZ_FRAME_SIZE; f++) {
		t_check(frame_encode(c, p + f * UZ_FRAME_SIZE, out, frame_bound(),
				     &d) >= 0);
		kinds[d.kind]++;
	}
	printf("frames: %u zero, %u fill, %u raw, %u lz4\n", kinds[UZ_FRAME_ZERO],
	       kinds[UZ_FRAME_FILL], kinds[UZ_FRAME_RAW], kinds[UZ_FRAME_LZ4]);
	t_check(kinds[UZ_FRAME_ZERO] && kinds[UZ_FRAME_FILL]);
	t_check(kinds[UZ_FRAME_RAW] && kinds[UZ_FRAME_LZ4] > LEN / UZ_FRAME_SIZE / 2);
	codec_close(c);
	return 0;
}
