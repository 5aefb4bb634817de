/* SPDX-License-Identifier: MIT */
/* Compression codecs behind one ops table (lz4, zstd). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <lz4.h>
#define ZSTD_STATIC_LINKING_ONLY /* static contexts on our own memory */
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"
#include "frame.h"

/*
 * An instance is one mmap: this struct, then the lz4 state (lz4
 * instances), the zstd compression context (zstd instances) and a zstd
 * decompression context (always, so any instance reads either kind).
 * Contexts are sized for inputs of at most UZ_FRAME_SIZE bytes.
 */
struct codec {
	const struct codec_ops *ops;
	int level;
	size_t map_len;
	int owned; /* mapped by codec_open(), unmapped on close */
	void *lz4_state;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

#define UZ_CODEC_ALIGN 64

static size_t align_up(size_t n)
{
	return (n + UZ_CODEC_ALIGN - 1) & ~(size_t)(UZ_CODEC_ALIGN - 1);
}

static size_t lz4_bound(size_t n)
{
	return n > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_COMPRESSBOUND(n);
}

/* lz4 has no levels here: acceleration 1 is its best ratio short of
 * lz4hc, and faster settings lose too much ratio to be worth a knob. */
static int lz4_compress(struct codec *c, const void *src, size_t n,
			void *dst, size_t cap)
{
	int r;

	if (n > UZ_FRAME_SIZE || !c->lz4_state)
		return -EINVAL;
	if (cap > INT_MAX)
		cap = INT_MAX;
	r = LZ4_compress_fast_extState(c->lz4_state, src, dst, (int)n,
				       (int)cap, 1);
	return r > 0 ? r : -ENOSPC;
}

static int lz4_decompress(struct codec *c, const void *src, size_t n,
			  void *dst, size_t cap)
{
	int r;

	if (n > INT_MAX)
		return -EINVAL;
	if (cap > INT_MAX)
		cap = INT_MAX;
	r = LZ4_decompress_safe(src, dst, (int)n, (int)cap);
	return r >= 0 ? r : -EINVAL;
}

static int lz4_decompress_part(struct codec *c, const void *src, size_t n,
			       void *dst, size_t want, size_t cap)
{
	int r;

	(void)c;
	if (n > INT_MAX || want > cap)
		return -EINVAL;
	if (cap > INT_MAX)
		cap = INT_MAX;
	r = LZ4_decompress_safe_partial(src, dst, (int)n, (int)want, (int)cap);
	return r >= 0 ? r : -EINVAL;
}

static size_t zstd_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

static int zstd_compress(struct codec *c, const void *src, size_t n,
			 void *dst, size_t cap)
{
	size_t r;

	if (n > UZ_FRAME_SIZE || !c->cctx)
		return -EINVAL;
	r = ZSTD_compressCCtx(c->cctx, dst, cap, src, n, c->level);
	if (!ZSTD_isError(r))
		return r > INT_MAX ? -ENOSPC : (int)r;
	return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? -ENOSPC
								    : -EINVAL;
}

static int zstd_decompress(struct codec *c, const void *src, size_t n,
			   void *dst, size_t cap)
{
	size_t r;

	if (cap > INT_MAX)
		cap = INT_MAX;
	r = ZSTD_decompressDCtx(c->dctx, dst, cap, src, n);
	return ZSTD_isError(r) ? -EINVAL : (int)r;
}

static const struct codec_ops codec_lz4 = {
	.name = "lz4",
	.id = UZ_CODEC_LZ4,
	.default_level = 1,
	.min_level = 1,
	.max_level = 1,
	.bound = lz4_bound,
	.compress = lz4_compress,
	.decompress = lz4_decompress,
	.decompress_part = lz4_decompress_part,
};

static const struct codec_ops codec_zstd = {
	.name = "zstd",
	.id = UZ_CODEC_ZSTD,
	.default_level = 1,
	.min_level = 1,
	.max_level = 19,
	.bound = zstd_bound,
	.compress = zstd_compress,
	.decompress = zstd_decompress,
};

static const struct codec_ops *const codec_table[] = { &codec_lz4,
						       &codec_zstd };

#define UZ_CODEC_COUNT (sizeof(codec_table) / sizeof(codec_table[0]))

const struct codec_ops *codec_ops_by_id(int id)
{
	size_t i;

	for (i = 0; i < UZ_CODEC_COUNT; i++)
		if (codec_table[i]->id == id)
			return codec_table[i];
	return NULL;
}

/* "lz4", "zstd", "zstd:19".  A level is allowed after any name and
 * checked against its range (lz4 has the one level 1). */
int codec_parse(const char *spec, int *id, int *level, char *cause,
		size_t cause_len)
{
	const struct codec_ops *ops = NULL;
	const char *colon = spec ? strchr(spec, ':') : NULL;
	size_t nlen, i;
	char *end;
	long l;

	if (!cause || !cause_len)
		cause_len = 0;
	if (!spec)
		spec = "";
	nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (i = 0; i < UZ_CODEC_COUNT; i++)
		if (strlen(codec_table[i]->name) == nlen &&
		    !strncmp(codec_table[i]->name, spec, nlen))
			ops = codec_table[i];
	if (!ops) {
		if (cause_len)
			snprintf(cause, cause_len,
				 "unknown codec '%s' (expected lz4 or zstd[:LEVEL])",
				 spec);
		return -EINVAL;
	}
	if (!colon) {
		*id = ops->id;
		*level = ops->default_level;
		return 0;
	}
	errno = 0;
	l = strtol(colon + 1, &end, 10);
	/* strtol would skip leading blanks; the spec has none */
	if (end == colon + 1 || *end ||
	    !(colon[1] == '-' || colon[1] == '+' ||
	      (colon[1] >= '0' && colon[1] <= '9'))) {
		if (cause_len)
			snprintf(cause, cause_len, "invalid %s level '%s'",
				 ops->name, colon + 1);
		return -EINVAL;
	}
	if (errno == ERANGE || l < ops->min_level || l > ops->max_level) {
		if (cause_len)
			snprintf(cause, cause_len,
				 "%s level %s out of range %d..%d", ops->name,
				 colon + 1, ops->min_level, ops->max_level);
		return -EINVAL;
	}
	*id = ops->id;
	*level = (int)l;
	return 0;
}

/* Compression workspace for one frame at @level: contexts are sized
 * for the parameters zstd picks for a UZ_FRAME_SIZE input, which is a
 * fraction of what an unknown-size input would need (1.8 MB instead of
 * 85 MB at level 19). */
static size_t zstd_cctx_size(int level)
{
	ZSTD_compressionParameters cp = ZSTD_getCParams(level, UZ_FRAME_SIZE, 0);

	return ZSTD_estimateCCtxSize_usingCParams(cp);
}

/* Where each part of a codec's memory goes, the struct first. */
struct codec_layout {
	size_t lz4, lz4_len, cctx, cctx_len, dctx, total;
};

/* 0 when @id and @level are not a codec's (errno EINVAL). */
static size_t codec_layout(int id, int level, struct codec_layout *l)
{
	const struct codec_ops *ops = codec_ops_by_id(id);

	if (!ops || level < ops->min_level || level > ops->max_level) {
		errno = EINVAL;
		return 0;
	}
	l->lz4_len = id == UZ_CODEC_LZ4 ? (size_t)LZ4_sizeofState() : 0;
	l->cctx_len = id == UZ_CODEC_LZ4 ? 0 : zstd_cctx_size(level);
	l->lz4 = align_up(sizeof(struct codec));
	l->cctx = l->lz4 + align_up(l->lz4_len);
	l->dctx = l->cctx + align_up(l->cctx_len);
	l->total = l->dctx + align_up(ZSTD_estimateDCtxSize());
	return l->total;
}

size_t codec_mem_size(int id, int level)
{
	struct codec_layout l;

	return codec_layout(id, level, &l);
}

struct codec *codec_open_in(int id, int level, void *mem, size_t len)
{
	struct codec_layout l;
	uint8_t *p = mem;
	struct codec *c = mem;

	if (!codec_layout(id, level, &l))
		return NULL;
	if (len < l.total) {
		errno = EINVAL;
		return NULL;
	}
	c->ops = codec_ops_by_id(id);
	c->level = level;
	c->map_len = len;
	c->owned = 0;
	c->lz4_state = l.lz4_len ? p + l.lz4 : NULL;
	c->cctx = l.cctx_len ? ZSTD_initStaticCCtx(p + l.cctx, l.cctx_len) : NULL;
	c->dctx = ZSTD_initStaticDCtx(p + l.dctx, len - l.dctx);
	if ((l.cctx_len && !c->cctx) || !c->dctx) {
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

struct codec *codec_open(int id, int level)
{
	size_t len = codec_mem_size(id, level);
	struct codec *c;
	void *p;

	if (!len)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	c = codec_open_in(id, level, p, len);
	if (!c) {
		munmap(p, len);
		return NULL;
	}
	c->owned = 1;
	return c;
}

void codec_close(struct codec *c)
{
	if (c && c->owned)
		munmap(c, c->map_len);
}

size_t codec_map_len(const struct codec *c)
{
	return c->map_len;
}

const struct codec_ops *codec_get_ops(struct codec *c)
{
	return c->ops;
}

int codec_level(struct codec *c)
{
	return c->level;
}

int codec_decompress_id(struct codec *c, int id, const void *src, size_t n,
			void *dst, size_t cap)
{
	const struct codec_ops *ops = codec_ops_by_id(id);

	if (!ops || !c)
		return -EINVAL;
	return ops->decompress(c, src, n, dst, cap);
}

int codec_decompress_part_id(struct codec *c, int id, const void *src,
			     size_t n, void *dst, size_t want, size_t cap)
{
	const struct codec_ops *ops = codec_ops_by_id(id);

	if (!ops || !c)
		return -EINVAL;
	if (!ops->decompress_part)
		return ops->decompress(c, src, n, dst, cap);
	return ops->decompress_part(c, src, n, dst, want, cap);
}
