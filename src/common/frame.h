/* SPDX-License-Identifier: MIT */
/* Block and frame format: a 2 MB block is 32 independent 64 KB frames. */
#ifndef UZ_FRAME_H
#define UZ_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define UZ_PAGE_SIZE 4096u
#define UZ_BLOCK_SIZE (2u << 20)
#define UZ_FRAME_SIZE (64u << 10)
#define UZ_FRAMES_PER_BLOCK (UZ_BLOCK_SIZE / UZ_FRAME_SIZE)
#define UZ_PAGES_PER_FRAME (UZ_FRAME_SIZE / UZ_PAGE_SIZE)
#define UZ_PAGES_PER_BLOCK (UZ_BLOCK_SIZE / UZ_PAGE_SIZE)

/* How a frame's payload is stored.  Values are on-arena format. */
enum uz_frame_kind {
	UZ_FRAME_NONE = 0, /* not stored: the frame is resident or dropped */
	UZ_FRAME_ZERO = 1, /* all zero, no payload */
	UZ_FRAME_FILL = 2, /* one 8-byte word repeated; payload is that word */
	UZ_FRAME_RAW = 3,  /* did not compress; payload is the 64 KB */
	UZ_FRAME_LZ4 = 4,
	UZ_FRAME_ZSTD = 5,
};

/* One frame's entry in a block record (24 bytes, on-arena format). */
struct uz_frame_desc {
	uint64_t csum; /* checksum of kind, len and payload */
	uint32_t off;  /* payload offset within the block's extent */
	uint32_t len;  /* payload length in bytes */
	uint8_t kind;  /* enum uz_frame_kind */
	uint8_t reserved[7];
};

struct codec;

/* Largest payload frame_encode() can produce. */
size_t frame_bound(void);

/*
 * Encode one UZ_FRAME_SIZE frame of @src into @dst (capacity @dst_cap,
 * at least frame_bound()).  Fills desc->kind, len and csum, not off.
 * Returns the payload length (0 for a ZERO frame) or -errno.
 */
int frame_encode(struct codec *codec, const void *src, void *dst,
		 size_t dst_cap, struct uz_frame_desc *desc);

/*
 * Verify and decode a frame whose payload is @payload (@avail bytes
 * readable) into @dst (UZ_FRAME_SIZE bytes).  The checksum is checked
 * before a byte is written to @dst.  Returns 0, -EBADMSG when the
 * checksum fails, -EINVAL for a malformed descriptor or payload.
 */
int frame_decode(struct codec *codec, const struct uz_frame_desc *desc,
		 const void *payload, size_t avail, void *dst);
/* The same for the frame's first @want bytes at least (one page asked
 * for: lz4 stops there); what lies past them in @dst is undefined. */
int frame_decode_part(struct codec *codec, const struct uz_frame_desc *desc,
		      const void *payload, size_t avail, void *dst,
		      size_t want);

/* Checksum of a frame's identity and payload (seeded with kind and len). */
uint64_t frame_checksum(uint8_t kind, const void *payload, uint32_t len);

/* Is @p (@len bytes, multiple of 8) one word repeated?  Sets *word. */
int frame_is_filled(const void *p, size_t len, uint64_t *word);

#endif
