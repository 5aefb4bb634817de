/* SPDX-License-Identifier: MIT */
/*
 * Fuzz arena_hdr_check: 8 bytes of file size, then the header.  A header
 * it accepts must really have its regions in order inside the file,
 * checked here again in 128-bit arithmetic.
 */
#include <string.h>

#include "arena.h"
#include "fuzz.h"

typedef unsigned __int128 u128;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uz_arena_hdr h;
	uint64_t file_size = 0;
	u128 rec_end, bm_end, data_end;

	memset(&h, 0, sizeof(h));
	if (size >= 8)
		memcpy(&file_size, data, 8);
	if (size > 8)
		memcpy(&h, data + 8, size - 8 < sizeof(h) ? size - 8 : sizeof(h));
	if (arena_hdr_check(&h, file_size))
		return 0;
	rec_end = (u128)h.rec_off + (u128)h.rec_count * h.rec_size;
	bm_end = (u128)h.bitmap_off + ((u128)h.data_pages + 63) / 64 * 8;
	data_end = (u128)h.data_off + (u128)h.data_pages * h.page_size;
	fuzz_assert(h.magic == UZ_ARENA_MAGIC && h.version == UZ_ARENA_VERSION);
	fuzz_assert(h.rec_size == sizeof(struct uz_block_rec));
	fuzz_assert(h.rec_count && h.data_pages && h.size <= file_size);
	fuzz_assert(h.rec_off >= sizeof(h) && rec_end <= h.bitmap_off);
	fuzz_assert(bm_end <= h.data_off && data_end <= h.size);
	fuzz_assert(!(h.rec_off % 4096) && !(h.bitmap_off % 4096) &&
		    !(h.data_off % 4096));
	return 0;
}

/* Headers arena_layout() makes, at various sizes. */
size_t fuzz_seed_input(unsigned i, uint8_t *buf, size_t cap)
{
	static const uint64_t data[] = { 1, 4096, 1 << 20, 3ull << 30, 1ull << 44 };
	struct uz_arena_hdr h;

	if (i >= sizeof(data) / sizeof(data[0]) || cap < 8 + sizeof(h))
		return 0;
	memset(&h, 0, sizeof(h));
	if (arena_layout(&h, 1 + i * 1000, data[i]))
		return 0;
	memcpy(buf, &h.size, 8);
	memcpy(buf + 8, &h, sizeof(h));
	return 8 + sizeof(h);
}
