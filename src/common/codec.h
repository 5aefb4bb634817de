/* SPDX-License-Identifier: MIT */
/* Compression codecs behind one ops table (lz4, zstd). */
#ifndef UZ_CODEC_H
#define UZ_CODEC_H

#include <stddef.h>

enum uz_codec_id {
	UZ_CODEC_LZ4 = 4,  /* equals UZ_FRAME_LZ4 */
	UZ_CODEC_ZSTD = 5, /* equals UZ_FRAME_ZSTD */
};

struct codec;

struct codec_ops {
	const char *name;
	int id;
	int default_level;
	int min_level, max_level;
	/* Worst-case compressed size of @n input bytes. */
	size_t (*bound)(size_t n);
	/*
	 * Compress @n bytes of @src into @dst (@cap bytes).  Never writes
	 * past @dst + @cap.  Returns the compressed length, or -ENOSPC when
	 * it does not fit (the caller stores the frame raw).
	 */
	int (*compress)(struct codec *c, const void *src, size_t n, void *dst,
			size_t cap);
	/*
	 * Decompress @n bytes of @src into @dst (@cap bytes).  Never writes
	 * past @dst + @cap.  Returns the decompressed length, or -EINVAL on
	 * malformed input.
	 */
	int (*decompress)(struct codec *c, const void *src, size_t n,
			  void *dst, size_t cap);
	/*
	 * The same, stopping once at least @want bytes are out (it may
	 * write more, up to @cap): the decompressed length so far.  NULL
	 * for a codec that cannot stop early.
	 */
	int (*decompress_part)(struct codec *c, const void *src, size_t n,
			       void *dst, size_t want, size_t cap);
};

/*
 * Parse "lz4", "zstd" or "zstd:LEVEL".  Returns 0 and sets *id and
 * *level, or -EINVAL with a reason in @cause (@cause_len bytes).
 */
int codec_parse(const char *spec, int *id, int *level, char *cause,
		size_t cause_len);

/* The ops of codec @id, or NULL. */
const struct codec_ops *codec_ops_by_id(int id);

/*
 * A codec instance with its working memory allocated up front (mmap, not
 * malloc), so compressing and decompressing never allocate.  Returns
 * NULL with errno set.  One instance per thread.
 */
struct codec *codec_open(int id, int level);
/* How much memory codec_open_in() needs: 0 (errno EINVAL) for a codec
 * or level that does not exist. */
size_t codec_mem_size(int id, int level);
/* A codec in the caller's memory (@len bytes, at least codec_mem_size(),
 * 64-byte aligned), which stays the caller's to unmap after close. */
struct codec *codec_open_in(int id, int level, void *mem, size_t len);
void codec_close(struct codec *c);
/* The codec's own memory (one mapping, the struct first): the agent
 * keeps it out of evictions. */
size_t codec_map_len(const struct codec *c);
const struct codec_ops *codec_get_ops(struct codec *c);
int codec_level(struct codec *c);

/* Decompress with whichever codec @id names, using @c's working memory. */
int codec_decompress_id(struct codec *c, int id, const void *src, size_t n,
			void *dst, size_t cap);
/* Decompress at least the first @want bytes (all of them with a codec
 * that cannot stop early): the length decompressed, or -EINVAL. */
int codec_decompress_part_id(struct codec *c, int id, const void *src,
			     size_t n, void *dst, size_t want, size_t cap);

#endif
