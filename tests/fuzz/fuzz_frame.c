/* SPDX-License-Identifier: MIT */
/*
 * Fuzz frame_decode: the first byte steers (see FZ_*), the next 24 are a
 * descriptor, the rest is the payload, readable up to the last byte
 * only.  Decoding must not crash, must not write outside its 64 KB, and
 * must leave it alone when the checksum fails.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "codec.h"
#include "frame.h"
#include "fuzz.h"

#define FZ_FIX_CSUM 0x1 /* recompute the checksum: reach the decoders */
#define FZ_LEN_AVAIL 0x2 /* len = the payload's size */
#define FZ_ZSTD 0x4	 /* decode with a zstd instance (else lz4) */
#define FZ_KIND_MOD 0x8	 /* kind %= 6, a known kind more often */
#define FZ_ENCODE 0x10	 /* also encode the first 64 KB and decode it */

#define FZ_PAYLOAD_MAX (1u << 18)
#define FZ_CANARY 0xa7

static uint8_t *payload_area, *dst, *enc;
static struct codec *lz4, *zstd;
static uint8_t canary[UZ_FRAME_SIZE];

/* @len bytes that end where an inaccessible page begins. */
static uint8_t *guarded(size_t len)
{
	size_t span = (len + 4095) & ~(size_t)4095;
	uint8_t *p = mmap(NULL, span + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	fuzz_assert(p != MAP_FAILED);
	fuzz_assert(!mprotect(p + span, 4096, PROT_NONE));
	return p + span - len;
}

static void setup(void)
{
	if (dst)
		return;
	payload_area = guarded(FZ_PAYLOAD_MAX);
	dst = guarded(UZ_FRAME_SIZE);
	enc = guarded(frame_bound());
	lz4 = codec_open(UZ_CODEC_LZ4, 1);
	zstd = codec_open(UZ_CODEC_ZSTD, 1);
	fuzz_assert(lz4 && zstd);
	memset(canary, FZ_CANARY, sizeof(canary));
}

/* Encode @src, decode it back, compare. */
static void round_trip(struct codec *c, const uint8_t *src)
{
	struct uz_frame_desc d;
	int len;

	memset(&d, 0, sizeof(d));
	len = frame_encode(c, src, enc, frame_bound(), &d);
	fuzz_assert(len >= 0 && (size_t)len <= frame_bound());
	fuzz_assert(!frame_decode(c, &d, enc, (size_t)len, dst));
	fuzz_assert(!memcmp(dst, src, UZ_FRAME_SIZE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uz_frame_desc d;
	struct codec *c;
	uint8_t flags, *payload;
	size_t avail;
	int r, csum_ok;

	setup();
	if (size < 1 + sizeof(d) || size - 1 - sizeof(d) > FZ_PAYLOAD_MAX)
		return 0;
	flags = data[0];
	memcpy(&d, data + 1, sizeof(d));
	avail = size - 1 - sizeof(d);
	payload = payload_area + FZ_PAYLOAD_MAX - avail;
	memcpy(payload, data + 1 + sizeof(d), avail);
	c = flags & FZ_ZSTD ? zstd : lz4;

	if (flags & FZ_KIND_MOD)
		d.kind %= 6;
	if (flags & FZ_LEN_AVAIL)
		d.len = (uint32_t)avail;
	if ((flags & FZ_FIX_CSUM) && d.len <= avail)
		d.csum = frame_checksum(d.kind, payload, d.len);
	csum_ok = d.len <= avail &&
		  d.csum == frame_checksum(d.kind, payload, d.len);

	memset(dst, FZ_CANARY, UZ_FRAME_SIZE);
	r = frame_decode(c, &d, payload, avail, dst);
	fuzz_assert(r == 0 || r == -EINVAL || r == -EBADMSG);
	if (r == -EBADMSG || !csum_ok)
		fuzz_assert(r != 0 && !memcmp(dst, canary, UZ_FRAME_SIZE));
	if (r == 0 && d.kind == UZ_FRAME_ZERO)
		fuzz_assert(frame_is_filled(dst, UZ_FRAME_SIZE, NULL) && !dst[0]);
	if (r == 0 && d.kind == UZ_FRAME_RAW)
		fuzz_assert(!memcmp(dst, payload, UZ_FRAME_SIZE));

	if ((flags & FZ_ENCODE) && avail >= UZ_FRAME_SIZE)
		round_trip(c, payload);
	return 0;
}

/* Frames of every kind, plain and with the checksum fix-up. */
size_t fuzz_seed_input(unsigned i, uint8_t *buf, size_t cap)
{
	static const uint8_t flags[] = { 0, 0, 0, 0, 0, FZ_FIX_CSUM,
					 FZ_FIX_CSUM | FZ_ZSTD, FZ_ENCODE };
	static uint8_t src[UZ_FRAME_SIZE];
	struct uz_frame_desc d;
	uint64_t x = 0x1234567 + i;
	size_t j;
	int len;

	setup();
	if (i >= sizeof(flags) || cap < 1 + sizeof(d) + frame_bound())
		return 0;
	for (j = 0; j < UZ_FRAME_SIZE; j++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		switch (i) {
		case 0: src[j] = 0; break;		   /* ZERO */
		case 1: src[j] = (uint8_t)(j % 8 + 1); break; /* FILL */
		case 2: src[j] = (uint8_t)(x >> 56); break;    /* RAW */
		default: src[j] = "abcdefgh \n"[(x >> 60) % 10]; /* text */
		}
	}
	memset(&d, 0, sizeof(d));
	len = frame_encode(flags[i] & FZ_ZSTD || i == 4 ? zstd : lz4, src,
			   buf + 1 + sizeof(d), cap - 1 - sizeof(d), &d);
	if (len < 0)
		return 0;
	buf[0] = flags[i] | (i == 4 ? FZ_ZSTD : 0);
	memcpy(buf + 1, &d, sizeof(d));
	if (flags[i] & FZ_ENCODE) {
		memcpy(buf + 1 + sizeof(d), src, UZ_FRAME_SIZE);
		len = UZ_FRAME_SIZE;
	}
	return 1 + sizeof(d) + (size_t)len;
}
