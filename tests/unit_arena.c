/* SPDX-License-Identifier: MIT */
/* Arena layout, and the check of a header read back from an untrusted arena. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"
#include "t.h"

#define PAGE 4096ull

static void test_layout(uint32_t recs, uint64_t data)
{
	struct uz_arena_hdr h;
	uint64_t rec_end, bm_end;

	memset(&h, 0xcc, sizeof(h));
	t_assert(!arena_layout(&h, recs, data), "layout(%u, %llu)", recs,
		 (unsigned long long)data);
	t_check(h.magic == UZ_ARENA_MAGIC && h.version == UZ_ARENA_VERSION);
	t_check_eq(h.page_size, PAGE);
	t_check_eq(h.rec_size, sizeof(struct uz_block_rec));
	t_check_eq(h.rec_count, recs);
	t_check(h.stats_off >= sizeof(h) && h.stats_off % PAGE == 0);
	t_check(h.rec_off >= arena_stats_off(&h, UZ_MAX_HOLDERS) &&
		h.rec_off % PAGE == 0);
	rec_end = h.rec_off + (uint64_t)recs * h.rec_size;
	t_check(h.bitmap_off >= rec_end && h.bitmap_off % PAGE == 0);
	t_check(h.data_pages * PAGE >= data && h.data_pages * PAGE < data + PAGE);
	bm_end = h.bitmap_off + (h.data_pages + 63) / 64 * 8;
	t_check(h.data_off >= bm_end && h.data_off % (2u << 20) == 0);
	t_check_eq(h.size, h.data_off + h.data_pages * PAGE);
	/* everything but the lock is reset; the lock is not touched */
	t_check(h.owner_pid == 0 && h.codec == 0 && h.alloc_hint == 0);
	t_check(h.holder_pid[0] == 0 && h.holder_pid[UZ_MAX_HOLDERS - 1] == 0);
	t_check(((unsigned char *)&h.lock)[0] == 0xcc);
	t_check_eq(arena_hdr_check(&h, h.size), 0);
	t_check_eq(arena_hdr_check(&h, h.size + 1), 0);
	t_check_eq(arena_hdr_check(&h, h.size - 1), -EINVAL);
}

/* Check @h after @field is set to each of @vals: all must be refused. */
#define REFUSE(good, field, ...)                                           \
	do {                                                               \
		const uint64_t vals_[] = { __VA_ARGS__ };                  \
		size_t i_;                                                 \
		for (i_ = 0; i_ < sizeof(vals_) / sizeof(vals_[0]); i_++) {\
			struct uz_arena_hdr b_ = *(good);                  \
			b_.field = vals_[i_];                              \
			if ((uint64_t)b_.field != vals_[i_])               \
				continue; /* does not fit the field */     \
			t_assert(arena_hdr_check(&b_, (good)->size) == -EINVAL,\
				 #field " = %#llx accepted",               \
				 (unsigned long long)vals_[i_]);           \
		}                                                          \
	} while (0)

static void test_corrupt(void)
{
	struct uz_arena_hdr h, b;
	const uint64_t M = UINT64_MAX;
	uint64_t seed = 1;
	size_t i;
	int r;

	t_check(!arena_layout(&h, 100, 64 << 20));
	REFUSE(&h, magic, 0, UZ_ARENA_MAGIC ^ 1, M);
	REFUSE(&h, version, 0, UZ_ARENA_VERSION + 1, UINT32_MAX);
	REFUSE(&h, page_size, 0, 512, 8192, 65536, UINT32_MAX);
	REFUSE(&h, rec_size, 0, sizeof(struct uz_block_rec) - 1,
	       sizeof(struct uz_block_rec) + 8, UINT32_MAX);
	REFUSE(&h, rec_count, 0, h.rec_count * 1000, UINT32_MAX);
	REFUSE(&h, data_pages, 0, h.data_pages + 1, M / PAGE, M / PAGE + 1,
	       M, 1ull << 52, 1ull << 61);
	REFUSE(&h, size, 0, h.size + 1, M);
	/* regions: outside, unaligned, overlapping, out of order, wrapping */
	REFUSE(&h, stats_off, 0, PAGE / 2, h.stats_off + 8, h.rec_off, h.size,
	       M);
	REFUSE(&h, rec_off, 0, PAGE, h.rec_off + 8, h.bitmap_off, h.size,
	       M - PAGE + 1, M & ~(PAGE - 1), (M - h.rec_count) & ~(PAGE - 1));
	REFUSE(&h, bitmap_off, 0, h.rec_off, h.bitmap_off - PAGE,
	       h.bitmap_off + 1, h.data_off, h.size, M & ~(PAGE - 1),
	       (M - 4095) & ~(PAGE - 1));
	REFUSE(&h, data_off, 0, h.rec_off, h.bitmap_off, h.data_off + PAGE,
	       h.data_off - 1, h.size, M & ~(PAGE - 1));
	/* a region that fits but would need a larger file */
	t_check_eq(arena_hdr_check(&h, h.size - PAGE), -EINVAL);
	t_check_eq(arena_hdr_check(&h, 0), -EINVAL);
	/* the data may start anywhere page-aligned after the bitmap */
	b = h;
	b.data_off -= PAGE;
	t_check_eq(arena_hdr_check(&b, h.size), 0);
	/* a header claiming the whole 64-bit space */
	b = h;
	b.size = M;
	b.data_pages = (M - h.data_off) / PAGE;
	t_check_eq(arena_hdr_check(&b, M), -EINVAL); /* bitmap too small */
	/* random corruption of the header's first 96 bytes: refused, or
	 * still every region inside the file, in order */
	for (i = 0; i < 200000; i++) {
		unsigned char *p = (unsigned char *)&b;

		b = h;
		p[t_rand(&seed) % offsetof(struct uz_arena_hdr, owner_pid)] ^=
			1u << (t_rand(&seed) % 8);
		r = arena_hdr_check(&b, h.size);
		if (r)
			continue;
		t_assert(b.rec_off >= sizeof(b) &&
				 b.rec_off + (uint64_t)b.rec_count * b.rec_size <=
					 b.bitmap_off &&
				 b.bitmap_off + (b.data_pages + 63) / 64 * 8 <=
					 b.data_off &&
				 b.data_off + b.data_pages * PAGE <= h.size &&
				 b.data_off <= h.size,
			 "corrupt header %zu accepted", i);
	}
}

int main(void)
{
	struct uz_arena_hdr h;

	t_assert(sizeof(struct uz_arena_hdr) <= PAGE, "header %zu bytes",
		 sizeof(struct uz_arena_hdr));
	t_check_eq(sizeof(struct uz_frame_desc), 24);
	test_layout(1, 1);
	test_layout(1, PAGE);
	test_layout(7, PAGE * 64 + 1);
	test_layout(1024, 256ull << 20);
	test_layout(UINT32_MAX, 1ull << 40);
	t_check_eq(arena_layout(&h, 0, PAGE), -EINVAL);
	t_check_eq(arena_layout(&h, 1, 0), -EINVAL);
	t_check_eq(arena_layout(&h, 1, UINT64_MAX), -EOVERFLOW);
	t_check_eq(arena_layout(&h, UINT32_MAX, UINT64_MAX - (1ull << 40)),
		   -EOVERFLOW);
	test_corrupt();
	return 0;
}
