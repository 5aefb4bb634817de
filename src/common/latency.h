/* SPDX-License-Identifier: MIT */
/* Log-linear latency histograms: 32 buckets per power of two, in ns. */
#ifndef UZ_LATENCY_H
#define UZ_LATENCY_H

#include <stdint.h>

#include "stats.h"

/* Bucket for @ns nanoseconds (0 .. UZ_LAT_BUCKETS - 1). */
unsigned latency_bucket(uint64_t ns);
/* Lowest value that lands in bucket @b. */
uint64_t latency_bucket_floor(unsigned b);
/* Add one sample of @ns to @hist. */
void latency_add(uint64_t *hist, uint64_t ns);
/*
 * Value at percentile @pct (0 < pct <= 100) of @hist, as the midpoint of
 * its bucket; 0 when the histogram is empty.
 */
uint64_t latency_percentile(const uint64_t *hist, double pct);
/* Total samples in @hist. */
uint64_t latency_count(const uint64_t *hist);
/* Samples in the buckets wholly below the one @limit lands in. */
uint64_t latency_count_below(const uint64_t *hist, uint64_t limit);

#endif
