/* SPDX-License-Identifier: MIT */
#ifndef UZ_AGENT_REFILL_H
#define UZ_AGENT_REFILL_H

#include <stdint.h>

#include "protocol.h"

/*
 * How much one fault brings back: the per-fault decision, kept apart
 * from the code that does it (restore.c) so that it can be tested on its
 * own (tests/unit_refill.c).  Pure: a block's history and the fault in,
 * a plan out; it touches nothing else.
 */

/* What the daemon decides for a client's cgroup (readahead= and
 * finish-after= in uzswapd.conf), sent with each eviction; until then
 * UZ_REFILL_READAHEAD_DEFAULT and UZ_REFILL_FINISH_DEFAULT (protocol.h). */
struct refill_params {
	unsigned readahead;    /* blocks restored ahead of a sequential reader */
	unsigned finish_after; /* 64 KB refills in a row that finish a block */
};

/* What the block remembers between faults (struct block's fields). */
struct refill_history {
	uint32_t stored;     /* frames still stored, a bit each */
	int was_thp;	     /* it was a huge page when it was taken */
	uint8_t last_frame;  /* the last 64 KB refill */
	uint8_t seq_refills; /* refills in a row, each after the last */
	int sampled;	     /* taken by the daemon's automatic sampling */
	int pages_back;	     /* a page of it came back alone: never whole */
	uint16_t frame_gone; /* pages of the faulting frame no longer
			      * stored (back alone, or dropped): a bit each */
};

/*
 * How page refills pay in this process (restore.c keeps one): a fault in
 * a frame that already has a page back alone is one that page's refill
 * did not cover (a reader going backwards, 8 KB records, sort reading
 * its lines again and again) and the frame would have served.  When more
 * than a quarter of page refills are followed so, frames come back
 * whole again, with a page refill now and then to see whether that
 * changed.
 */
struct refill_adapt {
	uint32_t pages;	 /* page refills (both halved past 1024) */
	uint32_t misses; /* faults in a frame with a page back alone */
	uint32_t held;	 /* page refills not made since the last probe */
};

struct refill_fault {
	uint64_t block;	   /* the block's address (2 MB aligned) */
	uint64_t addr;	   /* the faulting address */
	int shape;	   /* the range's hint: UZSWAP_HINT_SEQUENTIAL,
			    * _RANDOM or _NORMAL */
	uint64_t seq_next; /* where a sequential reader goes next (the
			    * block after the last whole restore), 0: none */
	struct refill_params params;
	struct refill_adapt *adapt; /* updated; NULL: page refills always */
};

struct refill_plan {
	int whole;	   /* 1: the whole 2 MB block; 0: less */
	int page;	   /* (not whole) 1: the faulting 4 KB page alone;
			    * 0: its 64 KB frame */
	int finish;	   /* finish the block frame by frame when idle */
	unsigned readahead; /* blocks after this one to restore ahead */
};

/* Decide for @f on a block with history @h (updated for the next
 * fault when the plan is one frame or page), and f->adapt. */
struct refill_plan refill_decide(struct refill_history *h,
				 const struct refill_fault *f);

/* May a block with history @h, in a range of @shape, be read ahead? */
int refill_may_read_ahead(const struct refill_history *h, int shape);

#endif
