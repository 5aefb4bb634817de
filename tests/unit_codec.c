/* SPDX-License-Identifier: MIT */
/* Codecs: round trips, malformed input, bounds, and spec parsing. */
#include <errno.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "t.h"

#define N UZ_FRAME_SIZE

static unsigned char src[N], out[N];

static void make_text(unsigned char *p, size_t len, uint64_t seed)
{
	t_text_fill(p, len, &seed);
}

/* Compress @src_len bytes of src, check the size against the bound and
 * the round trip; returns the compressed length. */
static int round_trip(struct codec *c, size_t src_len, unsigned char *cmp,
		      size_t cap)
{
	const struct codec_ops *ops = codec_get_ops(c);
	int clen, dlen;

	clen = ops->compress(c, src, src_len, cmp, cap);
	t_assert(clen > 0, "%s:%d compress %zu bytes: %d", ops->name,
		 codec_level(c), src_len, clen);
	t_assert((size_t)clen <= ops->bound(src_len), "over bound");
	memset(out, 0xa5, sizeof(out));
	dlen = codec_decompress_id(c, ops->id, cmp, clen, out, N);
	t_assert(dlen == (int)src_len, "%s: decompressed %d of %zu", ops->name,
		 dlen, src_len);
	t_assert(!memcmp(out, src, src_len), "%s: round trip differs",
		 ops->name);
	return clen;
}

/* Every kind of data through one codec instance. */
static void test_codec(int id, int level)
{
	size_t bound = codec_ops_by_id(id)->bound(N);
	unsigned char *cmp = t_guard_alloc(bound);
	struct codec *c = codec_open(id, level);
	uint64_t seed = 42;
	int clen;

	t_assert(c, "codec_open(%d, %d): %s", id, level, strerror(errno));
	t_check_eq(codec_level(c), level);
	t_check_eq(codec_get_ops(c)->id, id);

	memset(src, 0, N);
	clen = round_trip(c, N, cmp, bound);
	t_assert(clen < 1024, "zeros compress to %d", clen);
	make_text(src, N, 7);
	clen = round_trip(c, N, cmp, bound);
	t_assert(clen < N / 2, "text compresses to %d", clen);
	t_rand_fill(src, N, &seed);
	round_trip(c, N, cmp, bound);
	/* short inputs too */
	round_trip(c, 1, cmp, bound);
	round_trip(c, 4097, cmp, bound);

	/* incompressible data into a small buffer: -ENOSPC, no overrun */
	clen = codec_get_ops(c)->compress(c, src, N, cmp + bound - 1000, 1000);
	t_check_eq(clen, -ENOSPC);
	/* inputs above a frame are refused */
	t_check_eq(codec_get_ops(c)->compress(c, src, N + 1, cmp, bound),
		   -EINVAL);
	codec_close(c);
	t_guard_free(cmp, bound);
}

/*
 * Truncated and corrupted streams: a negative result or a short one,
 * never a write past cap (dst ends at an inaccessible page).
 */
static void test_malformed(int id)
{
	struct codec *c = codec_open(id, 1);
	const struct codec_ops *ops = codec_ops_by_id(id);
	unsigned char cmp[N + 1024], bad[N + 1024];
	unsigned char *dst = t_guard_alloc(N);
	unsigned char *small = t_guard_alloc(1000);
	uint64_t seed = 99;
	int clen, r, i;

	t_check(c);
	make_text(src, N, 3);
	clen = ops->compress(c, src, N, cmp, sizeof(cmp));
	t_assert(clen > 16, "compress: %d", clen);

	/* every truncation: error or fewer bytes, never the whole frame */
	for (i = 0; i < clen; i += i < 64 ? 1 : 97) {
		r = codec_decompress_id(c, id, cmp, i, dst, N);
		t_assert(r < 0 || r < N, "%s truncated at %d gave %d", ops->name,
			 i, r);
		if (r < 0)
			t_check_eq(r, -EINVAL);
	}
	/* a full stream into too small a buffer */
	r = codec_decompress_id(c, id, cmp, clen, small, 1000);
	t_check_eq(r, -EINVAL);
	/* random corruption: whatever comes out stays inside dst */
	for (i = 0; i < 2000; i++) {
		memcpy(bad, cmp, clen);
		bad[t_rand(&seed) % clen] ^= 1u << (t_rand(&seed) % 8);
		if (i % 2)
			bad[t_rand(&seed) % clen] = (unsigned char)t_rand(&seed);
		r = codec_decompress_id(c, id, bad, clen, dst, N);
		t_assert(r == -EINVAL || (r >= 0 && r <= N), "%s gave %d",
			 ops->name, r);
		r = codec_decompress_id(c, id, bad, clen, small, 1000);
		t_assert(r == -EINVAL || (r >= 0 && r <= 1000), "%s gave %d",
			 ops->name, r);
	}
	/* garbage */
	for (i = 0; i < 500; i++) {
		size_t len = 1 + t_rand(&seed) % sizeof(bad);

		t_rand_fill(bad, len, &seed);
		r = codec_decompress_id(c, id, bad, len, dst, N);
		t_assert(r == -EINVAL || (r >= 0 && r <= N), "%s gave %d",
			 ops->name, r);
	}
	t_check_eq(codec_decompress_id(c, 77, cmp, clen, dst, N), -EINVAL);
	codec_close(c);
	t_guard_free(dst, N);
	t_guard_free(small, 1000);
}

/* An lz4 instance reads zstd frames and the other way round. */
static void test_cross(void)
{
	struct codec *lz = codec_open(UZ_CODEC_LZ4, 1);
	struct codec *zs = codec_open(UZ_CODEC_ZSTD, 3);
	unsigned char cmp[N + 1024];
	int clen;

	t_check(lz && zs);
	make_text(src, N, 11);
	clen = codec_get_ops(zs)->compress(zs, src, N, cmp, sizeof(cmp));
	t_check(clen > 0);
	t_check_eq(codec_decompress_id(lz, UZ_CODEC_ZSTD, cmp, clen, out, N), N);
	t_check(!memcmp(out, src, N));
	clen = codec_get_ops(lz)->compress(lz, src, N, cmp, sizeof(cmp));
	t_check(clen > 0);
	t_check_eq(codec_decompress_id(zs, UZ_CODEC_LZ4, cmp, clen, out, N), N);
	t_check(!memcmp(out, src, N));
	/* an lz4 instance has no zstd compressor and the reverse */
	codec_close(lz);
	codec_close(zs);
}

static void parse_ok(const char *spec, int id, int level)
{
	char cause[128] = "";
	int gid = -1, glevel = -1;

	t_assert(!codec_parse(spec, &gid, &glevel, cause, sizeof(cause)),
		 "'%s' refused: %s", spec, cause);
	t_assert(gid == id && glevel == level, "'%s' gave %d:%d", spec, gid,
		 glevel);
}

static void parse_bad(const char *spec, const char *why)
{
	char cause[128] = "";
	int id = -1, level = -1;

	t_assert(codec_parse(spec, &id, &level, cause, sizeof(cause)) == -EINVAL,
		 "'%s' accepted", spec);
	t_assert(id == -1 && level == -1, "'%s' set outputs on failure", spec);
	t_assert(!strcmp(cause, why), "'%s': cause \"%s\", expected \"%s\"",
		 spec, cause, why);
}

static void test_parse(void)
{
	int id, level;

	parse_ok("lz4", UZ_CODEC_LZ4, 1);
	parse_ok("lz4:1", UZ_CODEC_LZ4, 1);
	parse_ok("zstd", UZ_CODEC_ZSTD, 1);
	parse_ok("zstd:1", UZ_CODEC_ZSTD, 1);
	parse_ok("zstd:19", UZ_CODEC_ZSTD, 19);
	parse_ok("zstd:07", UZ_CODEC_ZSTD, 7);
	parse_bad("foo", "unknown codec 'foo' (expected lz4 or zstd[:LEVEL])");
	parse_bad("", "unknown codec '' (expected lz4 or zstd[:LEVEL])");
	parse_bad("LZ4", "unknown codec 'LZ4' (expected lz4 or zstd[:LEVEL])");
	parse_bad("zstdx:3", "unknown codec 'zstdx:3' (expected lz4 or zstd[:LEVEL])");
	parse_bad("zstd:40", "zstd level 40 out of range 1..19");
	parse_bad("zstd:0", "zstd level 0 out of range 1..19");
	parse_bad("zstd:-1", "zstd level -1 out of range 1..19");
	parse_bad("zstd:99999999999999999999",
		  "zstd level 99999999999999999999 out of range 1..19");
	parse_bad("lz4:2", "lz4 level 2 out of range 1..1");
	parse_bad("zstd:", "invalid zstd level ''");
	parse_bad("zstd:3x", "invalid zstd level '3x'");
	parse_bad("zstd: 3", "invalid zstd level ' 3'");
	parse_bad("zstd:3:4", "invalid zstd level '3:4'");
	/* no room for a cause is fine */
	t_check_eq(codec_parse("nope", &id, &level, NULL, 0), -EINVAL);
	t_check_eq(codec_parse(NULL, &id, &level, NULL, 0), -EINVAL);
	/* opening out of range */
	t_check(!codec_open(UZ_CODEC_ZSTD, 20) && errno == EINVAL);
	t_check(!codec_open(UZ_CODEC_LZ4, 2) && errno == EINVAL);
	t_check(!codec_open(3, 1) && errno == EINVAL);
	t_check(!codec_ops_by_id(0));
	t_check(codec_ops_by_id(UZ_CODEC_LZ4)->default_level == 1);
}

int main(void)
{
	int level;

	test_parse();
	test_codec(UZ_CODEC_LZ4, 1);
	/* zstd contexts are sized per level for one frame: try them all */
	for (level = 1; level <= 19; level++)
		test_codec(UZ_CODEC_ZSTD, level);
	test_malformed(UZ_CODEC_LZ4);
	test_malformed(UZ_CODEC_ZSTD);
	test_cross();
	return 0;
}
