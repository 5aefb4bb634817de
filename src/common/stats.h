/* SPDX-License-Identifier: MIT */
/* Per-client counters the agent keeps in its arena for the daemon to read. */
#ifndef UZ_STATS_H
#define UZ_STATS_H

#include <stdint.h>

#define UZ_LAT_BUCKETS 1024

/*
 * Written only by the agent, read by the daemon (which treats every
 * value as untrusted and clamps what it shows).  On-arena format.
 */
struct uz_client_stats {
	uint64_t registered_bytes; /* anonymous memory in whole 2 MB blocks */
	uint64_t evicted_bytes;	   /* application bytes now held in the pool */
	uint64_t stored_bytes;	   /* compressed payload bytes for them */
	uint64_t pool_bytes;	   /* arena data pages in use, in bytes */
	uint64_t blocks_stored;	   /* block records in use */
	uint64_t evicted_blocks_total;
	uint64_t evicted_bytes_total;
	uint64_t evict_busy; /* blocks UFFDIO_MOVE refused (EBUSY), left in place */
	uint64_t evict_skipped;
	uint64_t faults;
	uint64_t restores_2m;
	uint64_t restores_64k;
	uint64_t restores_zero; /* 64 KB frames mapped to the zero page */
	uint64_t prefetch_2m;	/* 2 MB blocks restored ahead of a fault */
	uint64_t csum_failures;
	uint64_t frames_zero, frames_fill, frames_raw, frames_packed;
	uint64_t dropped_bytes; /* stored bytes dropped by munmap/madvise */
	/* the inactive list: blocks taken uncompressed (inactive.c) */
	uint64_t inactive_bytes;  /* application bytes on it now */
	uint64_t inactive_taken;  /* blocks put on it */
	uint64_t inactive_back;	  /* ... touched there and moved back */
	uint64_t inactive_stored; /* ... untouched for the minimum age: compressed */
	/* blocks taken out in the fault path, the cgroup at its limit */
	uint64_t guard_blocks;
	/* 4 KB pages restored alone (their frames stay stored) */
	uint64_t restores_4k;
	/* where a fault that brings back a 4 KB page or a 64 KB frame
	 * spends its time, summed (restore.c): from reading the fault to
	 * resolving it, of that reading, checking and decoding the frame,
	 * and the UFFDIO_COPY (which wakes the faulting thread); not a zero
	 * frame's (the zero page mapped) */
	uint64_t fill_count, fill_ns, fill_decode_ns, fill_copy_ns;
	uint64_t reserved[2];
	/* fault latency, read to resolve, in the agent (see latency.h) */
	uint64_t fault_lat[UZ_LAT_BUCKETS];
	/* 2 MB restore latency, fault read to block mapped */
	uint64_t restore2m_lat[UZ_LAT_BUCKETS];
	/* refault history: the time from a block's eviction to the first
	 * fault on it, in milliseconds (the latency.h buckets) */
	uint64_t refault_age_ms[UZ_LAT_BUCKETS];
};

#endif
