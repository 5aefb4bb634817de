/* SPDX-License-Identifier: MIT */
/* Block and frame format: encoding and verified decoding of 64 KB frames. */
#include <errno.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "checksum.h"
#include "codec.h"
#include "frame.h"

/* A frame is stored compressed only when that saves at least 1/16
 * (6.25%): less is not worth a decompression on every fault. */
#define UZ_FRAME_PACK_MAX (UZ_FRAME_SIZE - UZ_FRAME_SIZE / 16)

#define UZ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define UZ_FRAME_BOUND                                                  \
	UZ_MAX((size_t)UZ_FRAME_SIZE,                                   \
	       UZ_MAX((size_t)LZ4_COMPRESSBOUND(UZ_FRAME_SIZE),         \
		      (size_t)ZSTD_COMPRESSBOUND(UZ_FRAME_SIZE)))

/* Mixed into every frame checksum so that it differs from a plain
 * checksum of the same bytes (e.g. a disk slot's). */
#define UZ_FRAME_CSUM_SEED 0x554a4652414d4531ull /* "UZFRAME1" */

size_t frame_bound(void)
{
	return UZ_FRAME_BOUND;
}

uint64_t frame_checksum(uint8_t kind, const void *payload, uint32_t len)
{
	return checksum64(payload, len,
			  UZ_FRAME_CSUM_SEED ^ ((uint64_t)kind << 32 | len));
}

/*
 * A buffer equals itself shifted by one word exactly when it is one word
 * repeated.  libc's memcmp is vectorised and stops at the first
 * difference: random data leaves after a few bytes, a filled frame is
 * checked at memory speed (twice as fast as a word loop here), and it
 * does not care about alignment.
 */
int frame_is_filled(const void *p, size_t len, uint64_t *word)
{
	const unsigned char *b = p;

	if (len < 8 || len % 8 || memcmp(b, b + 8, len - 8))
		return 0;
	if (word)
		memcpy(word, b, 8);
	return 1;
}

int frame_encode(struct codec *codec, const void *src, void *dst,
		 size_t dst_cap, struct uz_frame_desc *desc)
{
	const struct codec_ops *ops = codec ? codec_get_ops(codec) : NULL;
	uint8_t kind;
	uint64_t w;
	int len;

	if (frame_is_filled(src, UZ_FRAME_SIZE, &w)) {
		kind = w ? UZ_FRAME_FILL : UZ_FRAME_ZERO;
		len = w ? 8 : 0;
		if (dst_cap < (size_t)len)
			return -ENOSPC;
		memcpy(dst, &w, len);
	} else {
		/* a result that would not be kept is not worth finishing */
		len = ops ? ops->compress(codec, src, UZ_FRAME_SIZE, dst,
					  dst_cap < UZ_FRAME_PACK_MAX
						  ? dst_cap
						  : UZ_FRAME_PACK_MAX - 1)
			  : -ENOSPC;
		if (len > 0) {
			kind = (uint8_t)ops->id;
		} else if (len == -ENOSPC || len == 0) {
			if (dst_cap < UZ_FRAME_SIZE)
				return -ENOSPC;
			memcpy(dst, src, UZ_FRAME_SIZE);
			kind = UZ_FRAME_RAW;
			len = UZ_FRAME_SIZE;
		} else {
			return len;
		}
	}
	desc->kind = kind;
	desc->len = (uint32_t)len;
	desc->csum = frame_checksum(kind, dst, (uint32_t)len);
	return len;
}

/* Fill @dst with the 8 bytes at @word by doubling copies. */
static void frame_fill(unsigned char *dst, const void *word)
{
	size_t n;

	memcpy(dst, word, 8);
	for (n = 8; n < UZ_FRAME_SIZE; n *= 2)
		memcpy(dst + n, dst, n);
}

int frame_decode(struct codec *codec, const struct uz_frame_desc *desc,
		 const void *payload, size_t avail, void *dst)
{
	return frame_decode_part(codec, desc, payload, avail, dst,
				 UZ_FRAME_SIZE);
}

int frame_decode_part(struct codec *codec, const struct uz_frame_desc *desc,
		      const void *payload, size_t avail, void *dst,
		      size_t want)
{
	uint32_t len = desc->len;
	uint8_t kind = desc->kind;
	int r;

	if (len > avail || (len && !payload) || !want || want > UZ_FRAME_SIZE)
		return -EINVAL;
	switch (kind) {
	case UZ_FRAME_ZERO:
		if (len != 0)
			return -EINVAL;
		break;
	case UZ_FRAME_FILL:
		if (len != 8)
			return -EINVAL;
		break;
	case UZ_FRAME_RAW:
		if (len != UZ_FRAME_SIZE)
			return -EINVAL;
		break;
	case UZ_FRAME_LZ4:
	case UZ_FRAME_ZSTD:
		if (!len || len > UZ_FRAME_BOUND || !codec)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (frame_checksum(kind, payload, len) != desc->csum)
		return -EBADMSG;

	switch (kind) {
	case UZ_FRAME_ZERO:
		memset(dst, 0, UZ_FRAME_SIZE);
		break;
	case UZ_FRAME_FILL:
		frame_fill(dst, payload);
		break;
	case UZ_FRAME_RAW:
		memcpy(dst, payload, UZ_FRAME_SIZE);
		break;
	default:
		/* the checksum matched, so only a buggy or hostile writer
		 * gets here with a bad stream; dst may then be clobbered */
		r = codec_decompress_part_id(codec, kind, payload, len, dst,
					     want, UZ_FRAME_SIZE);
		if (r < (int)want)
			return -EINVAL;
	}
	return 0;
}
