/* SPDX-License-Identifier: MIT */
/* Log-linear latency histograms: 32 buckets per power of two, in ns. */
#include "latency.h"

#define SUB_BITS 5
#define SUB (1u << SUB_BITS) /* sub-buckets per power of two: 3% steps */

/*
 * Values below 2 * SUB have a bucket each.  Above, a value with its top
 * bit at position m falls in one of SUB equal sub-buckets of
 * [2^m, 2^(m+1)): bucket (m - SUB_BITS + 1) * SUB + the SUB_BITS bits
 * below the top one.  The same formula gives bucket v for SUB..2*SUB-1,
 * so the scale is seamless.  The last bucket (about 34 s with 1024
 * buckets) takes everything above.
 */
unsigned latency_bucket(uint64_t ns)
{
	unsigned m, b;

	if (ns < 2 * SUB)
		return (unsigned)ns;
	m = 63 - (unsigned)__builtin_clzll(ns);
	b = (m - SUB_BITS + 1) * SUB + (unsigned)((ns >> (m - SUB_BITS)) & (SUB - 1));
	return b < UZ_LAT_BUCKETS ? b : UZ_LAT_BUCKETS - 1;
}

uint64_t latency_bucket_floor(unsigned b)
{
	if (b >= UZ_LAT_BUCKETS)
		b = UZ_LAT_BUCKETS - 1;
	if (b < 2 * SUB)
		return b;
	return (uint64_t)(SUB + b % SUB) << (b / SUB - 1);
}

/* Width of bucket @b (its top bucket nominally as wide as the one below
 * it would make it). */
static uint64_t latency_bucket_width(unsigned b)
{
	return b < 2 * SUB ? 1 : 1ull << (b / SUB - 1);
}

void latency_add(uint64_t *hist, uint64_t ns)
{
	/* relaxed atomic: the agent's threads add, the daemon reads */
	__atomic_fetch_add(&hist[latency_bucket(ns)], 1, __ATOMIC_RELAXED);
}

/* Saturating, since the daemon sums counts an agent may have forged. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

uint64_t latency_count(const uint64_t *hist)
{
	uint64_t n = 0;
	unsigned b;

	for (b = 0; b < UZ_LAT_BUCKETS; b++)
		n = sat_add(n, __atomic_load_n(&hist[b], __ATOMIC_RELAXED));
	return n;
}

uint64_t latency_count_below(const uint64_t *hist, uint64_t limit)
{
	uint64_t n = 0;
	unsigned b, end = latency_bucket(limit);

	for (b = 0; b < end; b++)
		n = sat_add(n, __atomic_load_n(&hist[b], __ATOMIC_RELAXED));
	return n;
}

uint64_t latency_percentile(const uint64_t *hist, double pct)
{
	uint64_t total = latency_count(hist), rank, seen = 0;
	double r;
	unsigned b;

	if (!total)
		return 0;
	/* the sample of rank ceil(pct% of total), 1-based, clamped */
	r = pct / 100.0 * (double)total;
	if (!(r >= 1.0)) /* also NaN */
		rank = 1;
	else if (r >= (double)total)
		rank = total;
	else {
		rank = (uint64_t)r;
		if ((double)rank < r)
			rank++;
	}
	for (b = 0; b < UZ_LAT_BUCKETS; b++) {
		seen = sat_add(seen, __atomic_load_n(&hist[b], __ATOMIC_RELAXED));
		if (seen >= rank)
			break;
	}
	if (b == UZ_LAT_BUCKETS)
		b = UZ_LAT_BUCKETS - 1; /* counts changed while we read */
	return latency_bucket_floor(b) + latency_bucket_width(b) / 2;
}
