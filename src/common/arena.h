/* SPDX-License-Identifier: MIT */
/*
 * The per-client arena: a memfd shared by the agent (which writes it) and
 * the daemon (which only reads it, with pread, as untrusted input).  It
 * holds the compressed frames and a self-describing index of them, so it
 * survives a daemon restart.  Pages are charged to whoever first touches
 * them: the agent, i.e. the application's own cgroup.
 *
 *   page 0          struct uz_arena_hdr
 *   stats_off       UZ_MAX_HOLDERS x struct uz_client_stats
 *   rec_off         rec_count x struct uz_block_rec
 *   bitmap_off      one bit per data page, set = in use
 *   data_off        data_pages x 4 KB of frame payload
 */
#ifndef UZ_ARENA_H
#define UZ_ARENA_H

#include <pthread.h>
#include <stdint.h>

#include "frame.h"
#include "stats.h"

#define UZ_ARENA_MAGIC 0x31414e4552415a55ull /* "UZARENA1" */
#define UZ_ARENA_VERSION 3 /* bump when any on-arena struct changes */

/* After fork() parent and child share the arena, each as a "holder"
 * with a slot of its own: its bit in every record it still needs, and
 * its own counters. */
#define UZ_MAX_HOLDERS 64

struct uz_arena_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t page_size;
	uint64_t size; /* bytes of the memfd */
	uint64_t rec_off;
	uint32_t rec_count;
	uint32_t rec_size;
	uint64_t bitmap_off;
	uint64_t data_off;
	uint64_t data_pages;
	uint32_t owner_pid; /* the process that created the arena */
	uint32_t codec;	    /* enum uz_codec_id used for new frames */
	int32_t level;
	uint32_t alloc_hint; /* data page where the next search starts */
	uint64_t stats_off;  /* UZ_MAX_HOLDERS x struct uz_client_stats */
	uint32_t holder_pid[UZ_MAX_HOLDERS]; /* 0: slot free */
	uint32_t rec_high; /* records [0, rec_high) have been used */
	uint32_t pad2;
	/* Serialises the record table and bitmap between processes that
	 * share the arena after fork(); robust, so a dead holder is seen. */
	pthread_mutex_t lock;
	uint8_t pad[64];
};

enum uz_rec_state {
	UZ_REC_FREE = 0,
	UZ_REC_STORED = 1,
};

#define UZ_REC_WAS_THP 0x1 /* the block was PMD-mapped when evicted */

/* One stored 2 MB block.  Immutable while stored, except holders and
 * what its last holder releases. */
struct uz_block_rec {
	uint64_t addr; /* address it was evicted from (informational) */
	uint32_t state;
	uint32_t flags;
	uint64_t holders;    /* bit per holder slot still needing it */
	uint64_t extent_off; /* from the start of the arena */
	uint32_t extent_pages;
	uint32_t payload_bytes; /* compressed bytes in the extent */
	uint64_t orig_bytes;	/* application bytes it holds (non-hole) */
	/* frames its last holder has back: their payload bytes, and the
	 * extent's pages they alone took, punched (store_release_frame) */
	uint32_t released_bytes;
	uint32_t released_pages;
	struct uz_frame_desc frames[UZ_FRAMES_PER_BLOCK];
};

struct arena;

/* Offset of holder @slot's counters. */
static inline uint64_t arena_stats_off(const struct uz_arena_hdr *h,
				       unsigned slot)
{
	return h->stats_off + (uint64_t)slot * sizeof(struct uz_client_stats);
}

/* Layout of an arena for @rec_count records and @data_bytes of payload. */
int arena_layout(struct uz_arena_hdr *h, uint32_t rec_count,
		 uint64_t data_bytes);

/*
 * Check a header read from an untrusted arena of @file_size bytes:
 * magic, version, and that every region lies inside the file without
 * overflow.  Returns 0 or -EINVAL.
 */
int arena_hdr_check(const struct uz_arena_hdr *h, uint64_t file_size);

#endif
