/* SPDX-License-Identifier: MIT */
/* Frames: every kind encodes and decodes; damaged frames never decode. */
#include <errno.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "t.h"

#define N UZ_FRAME_SIZE
#define CANARY 0x5a

static unsigned char src[N];
static unsigned char *payload; /* frame_bound() bytes before a guard page */
static unsigned char *dst;     /* N bytes before a guard page */

static void make_text(unsigned char *p, uint64_t seed)
{
	t_text_fill(p, N, &seed);
}

static int dst_is_canary(void)
{
	size_t i;

	for (i = 0; i < N; i++)
		if (dst[i] != CANARY)
			return 0;
	return 1;
}

/* Encode src with @c, expect @kind, decode it back. */
static struct uz_frame_desc encode_check(struct codec *c, int kind)
{
	struct uz_frame_desc d;
	int len;

	memset(&d, 0, sizeof(d));
	d.off = 1234; /* must be left alone */
	len = frame_encode(c, src, payload, frame_bound(), &d);
	t_assert(len >= 0, "frame_encode: %d", len);
	t_assert(d.kind == kind, "kind %u, expected %d", d.kind, kind);
	t_check_eq(d.len, len);
	t_check_eq(d.off, 1234);
	t_check_eq(d.csum, frame_checksum(d.kind, payload, d.len));
	memset(dst, CANARY, N);
	t_check_eq(frame_decode(c, &d, payload, d.len, dst), 0);
	t_check(!memcmp(dst, src, N));
	/* more readable bytes than the payload are fine */
	memset(dst, CANARY, N);
	t_check_eq(frame_decode(c, &d, payload, frame_bound(), dst), 0);
	t_check(!memcmp(dst, src, N));
	return d;
}

static void test_kinds(void)
{
	struct codec *lz = codec_open(UZ_CODEC_LZ4, 1);
	struct codec *zs = codec_open(UZ_CODEC_ZSTD, 3);
	struct uz_frame_desc d;
	uint64_t w = 0x0123456789abcdefull, seed = 5;
	size_t i;

	t_check(lz && zs);
	memset(src, 0, N);
	d = encode_check(lz, UZ_FRAME_ZERO);
	t_check_eq(d.len, 0);
	for (i = 0; i < N; i += 8)
		memcpy(src + i, &w, 8);
	d = encode_check(lz, UZ_FRAME_FILL);
	t_check_eq(d.len, 8);
	t_check(!memcmp(payload, &w, 8));
	/* a fill frame that is one byte off is not a fill frame */
	src[N - 1] ^= 1;
	d = encode_check(lz, UZ_FRAME_LZ4);
	src[N - 1] ^= 1;
	t_rand_fill(src, N, &seed);
	d = encode_check(lz, UZ_FRAME_RAW);
	t_check_eq(d.len, N);
	make_text(src, 1);
	d = encode_check(lz, UZ_FRAME_LZ4);
	t_assert(d.len < N / 2, "text frame %u bytes", d.len);
	d = encode_check(zs, UZ_FRAME_ZSTD);
	/* a zstd frame decodes with an lz4 instance */
	memset(dst, CANARY, N);
	t_check_eq(frame_decode(lz, &d, payload, d.len, dst), 0);
	t_check(!memcmp(dst, src, N));
	/* without a codec: raw */
	d = encode_check(NULL, UZ_FRAME_RAW);
	/* barely compressible (saves < 1/16): raw */
	t_rand_fill(src, N, &seed);
	memset(src, 'a', N / 32);
	encode_check(lz, UZ_FRAME_RAW);
	codec_close(lz);
	codec_close(zs);
}

static void test_filled(void)
{
	uint64_t buf[33], w;

	memset(buf, 7, sizeof(buf));
	t_check(frame_is_filled(buf, sizeof(buf), &w) && w == 0x0707070707070707ull);
	t_check(frame_is_filled((char *)buf + 1, 256, &w));
	t_check(!frame_is_filled(buf, 0, &w));
	t_check(!frame_is_filled(buf, 12, &w));
	((unsigned char *)buf)[263] = 8; /* the tail, past 4 x 64 bytes */
	t_check(!frame_is_filled(buf, sizeof(buf), &w));
	t_check(frame_is_filled(buf, 256, &w));
	((unsigned char *)buf)[70] = 8;
	t_check(!frame_is_filled(buf, 256, &w));
	t_check(frame_is_filled(buf, 8, &w));
}

/* Decoding @d must fail with @want and leave dst as it was. */
static void expect_fail(struct codec *c, const struct uz_frame_desc *d,
			size_t avail, int want, const char *what, size_t at)
{
	int r;

	memset(dst, CANARY, N);
	r = frame_decode(c, d, payload, avail, dst);
	t_assert(r == want, "%s at %zu: %d, expected %d", what, at, r, want);
	t_assert(dst_is_canary(), "%s at %zu: dst written", what, at);
}

/* Damage every part of an encoded frame of @kind. */
static void test_damage(struct codec *c, int kind)
{
	struct uz_frame_desc d, bad;
	unsigned char *b;
	size_t i, step;
	uint64_t seed = 77;
	int len;

	memset(&d, 0, sizeof(d));
	len = frame_encode(c, src, payload, frame_bound(), &d);
	t_assert(len >= 0 && d.kind == kind, "setup: kind %u", d.kind);

	/* each bit of the checksum */
	for (i = 0; i < 64; i++) {
		bad = d;
		bad.csum ^= 1ull << i;
		expect_fail(c, &bad, d.len, -EBADMSG, "csum bit", i);
	}
	/* payload bytes: all of a short payload, a sample of a long one */
	step = d.len > 4096 ? d.len / 1500 + 1 : 1;
	for (i = 0; i < d.len; i += step) {
		unsigned char bit = 1u << (t_rand(&seed) % 8);

		payload[i] ^= bit;
		expect_fail(c, &d, d.len, -EBADMSG, "payload byte", i);
		payload[i] ^= bit;
	}
	/* other kinds: a wrong length for them, or a checksum mismatch */
	for (i = 0; i < 256; i++) {
		if (i == kind)
			continue;
		bad = d;
		bad.kind = (uint8_t)i;
		memset(dst, CANARY, N);
		len = frame_decode(c, &bad, payload, d.len, dst);
		t_assert(len == -EINVAL || len == -EBADMSG, "kind %zu: %d", i, len);
		t_assert(dst_is_canary(), "kind %zu: dst written", i);
	}
	/* lengths: shorter, longer, bit flips */
	for (i = 0; i < 32; i++) {
		bad = d;
		bad.len ^= 1u << i;
		memset(dst, CANARY, N);
		len = frame_decode(c, &bad, payload, frame_bound(), dst);
		t_assert(len == -EINVAL || len == -EBADMSG, "len bit %zu: %d", i,
			 len);
		t_assert(dst_is_canary(), "len bit %zu: dst written", i);
	}
	/* fewer readable bytes than the length */
	if (d.len)
		expect_fail(c, &d, d.len - 1, -EINVAL, "avail", d.len - 1);
	bad = d;
	bad.len = UINT32_MAX;
	expect_fail(c, &bad, SIZE_MAX, -EINVAL, "len", UINT32_MAX);
	/* the whole descriptor, randomly */
	for (i = 0; i < 2000; i++) {
		bad = d;
		b = (unsigned char *)&bad;
		b[t_rand(&seed) % 17] ^= 1u << (t_rand(&seed) % 8);
		if (!memcmp(&bad, &d, 17))
			continue;
		memset(dst, CANARY, N);
		len = frame_decode(c, &bad, payload, frame_bound(), dst);
		t_assert(len == -EINVAL || len == -EBADMSG ||
				 (len == 0 && bad.kind == d.kind &&
				  bad.len == d.len && bad.csum == d.csum),
			 "desc flip %zu: %d", i, len);
		if (len)
			t_assert(dst_is_canary(), "desc flip %zu: dst written", i);
	}
}

/* A valid checksum over a bad stream: -EINVAL, no write past dst. */
static void test_forged(struct codec *c)
{
	struct uz_frame_desc d;
	uint64_t seed = 3;
	int i, r;

	make_text(src, 9);
	memset(&d, 0, sizeof(d));
	t_check(frame_encode(c, src, payload, frame_bound(), &d) > 0);
	/* decompresses to less than a frame */
	d.len /= 2;
	d.csum = frame_checksum(d.kind, payload, d.len);
	t_check_eq(frame_decode(c, &d, payload, d.len, dst), -EINVAL);
	for (i = 0; i < 300; i++) {
		d.kind = i % 2 ? UZ_FRAME_LZ4 : UZ_FRAME_ZSTD;
		d.len = 1 + t_rand(&seed) % frame_bound();
		t_rand_fill(payload, d.len, &seed);
		d.csum = frame_checksum(d.kind, payload, d.len);
		r = frame_decode(c, &d, payload, d.len, dst);
		t_check_eq(r, -EINVAL);
	}
	/* a compressed kind needs a codec to decode */
	t_check_eq(frame_decode(NULL, &d, payload, d.len, dst), -EINVAL);
}

/* A prefix decode gives at least the bytes asked for, right, and no
 * byte past the frame; a stream too short for them, or a bad request,
 * says -EINVAL. */
static void test_part(struct codec *c)
{
	struct uz_frame_desc d;
	size_t want;

	make_text(src, 11);
	memset(&d, 0, sizeof(d));
	t_check(frame_encode(c, src, payload, frame_bound(), &d) > 0);
	for (want = 4096; want <= N; want += 4096 * 5) {
		memset(dst, CANARY, N);
		t_check_eq(frame_decode_part(c, &d, payload, d.len, dst, want), 0);
		t_assert(!memcmp(dst, src, want), "prefix of %zu differs", want);
	}
	t_check_eq(frame_decode_part(c, &d, payload, d.len, dst, 0), -EINVAL);
	t_check_eq(frame_decode_part(c, &d, payload, d.len, dst, N + 1), -EINVAL);
	/* the first half of the stream: not a whole frame, maybe a page */
	d.len /= 2;
	d.csum = frame_checksum(d.kind, payload, d.len);
	t_check_eq(frame_decode_part(c, &d, payload, d.len, dst, N), -EINVAL);
}

int main(void)
{
	struct codec *lz, *zs;
	uint64_t seed = 8;

	t_check(frame_bound() >= N);
	payload = t_guard_alloc(frame_bound());
	dst = t_guard_alloc(N);
	test_filled();
	test_kinds();

	lz = codec_open(UZ_CODEC_LZ4, 1);
	zs = codec_open(UZ_CODEC_ZSTD, 1);
	t_check(lz && zs);
	memset(src, 0, N);
	test_damage(lz, UZ_FRAME_ZERO);
	memset(src, 0x11, N);
	test_damage(lz, UZ_FRAME_FILL);
	t_rand_fill(src, N, &seed);
	test_damage(lz, UZ_FRAME_RAW);
	make_text(src, 2);
	test_damage(lz, UZ_FRAME_LZ4);
	test_damage(zs, UZ_FRAME_ZSTD);
	test_forged(lz);
	test_forged(zs);
	test_part(lz);
	test_part(zs);
	codec_close(lz);
	codec_close(zs);
	return 0;
}
