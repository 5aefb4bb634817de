/* SPDX-License-Identifier: MIT */
/* Latency histograms: bucket boundaries and percentiles. */
#include <math.h>
#include <string.h>

#include "latency.h"
#include "t.h"

static uint64_t hist[UZ_LAT_BUCKETS];

static void test_buckets(void)
{
	uint64_t v, lo, hi, seed = 1;
	unsigned b, prev = 0;
	int i;

	for (v = 0; v < 16; v++)
		t_check_eq(latency_bucket(v), v);
	/* monotonic, one step at a time, consistent with the floors */
	for (v = 0; v < 4000000; v++) {
		b = latency_bucket(v);
		t_assert(b == prev || b == prev + 1, "bucket(%llu) = %u after %u",
			 (unsigned long long)v, b, prev);
		t_assert(latency_bucket_floor(b) <= v, "floor(%u) > %llu", b,
			 (unsigned long long)v);
		prev = b;
	}
	for (b = 0; b < UZ_LAT_BUCKETS; b++) {
		lo = latency_bucket_floor(b);
		t_check_eq(latency_bucket(lo), b);
		if (b + 1 < UZ_LAT_BUCKETS) {
			hi = latency_bucket_floor(b + 1);
			t_assert(hi > lo, "floors not increasing at %u", b);
			t_check_eq(latency_bucket(hi - 1), b);
			/* 8 per power of two: at most 1/8 wide */
			if (b >= 16)
				t_assert((hi - lo) * 8 <= lo, "bucket %u too wide", b);
		}
	}
	t_check_eq(latency_bucket(UINT64_MAX), UZ_LAT_BUCKETS - 1);
	t_check_eq(latency_bucket(latency_bucket_floor(UZ_LAT_BUCKETS - 1)),
		   UZ_LAT_BUCKETS - 1);
	/* random large values stay monotonic too */
	for (i = 0; i < 100000; i++) {
		uint64_t a = t_rand(&seed) >> (t_rand(&seed) % 64);
		uint64_t c = a + (t_rand(&seed) >> 40);

		if (c >= a)
			t_check(latency_bucket(a) <= latency_bucket(c));
	}
}

/* The bucket of @got is within one of the bucket of @want. */
static void near(uint64_t got, uint64_t want, const char *what)
{
	int d = (int)latency_bucket(got) - (int)latency_bucket(want);

	t_assert(d >= -1 && d <= 1, "%s: %llu, expected about %llu", what,
		 (unsigned long long)got, (unsigned long long)want);
}

static void test_percentiles(void)
{
	uint64_t seed = 3, v;
	int i;

	memset(hist, 0, sizeof(hist));
	t_check_eq(latency_count(hist), 0);
	t_check_eq(latency_percentile(hist, 50), 0);

	/* one value: every percentile is its bucket's midpoint */
	latency_add(hist, 1000);
	t_check_eq(latency_count(hist), 1);
	v = latency_percentile(hist, 50);
	t_check_eq(latency_bucket(v), latency_bucket(1000));
	t_check_eq(latency_percentile(hist, 100), v);
	t_check_eq(latency_percentile(hist, 0.001), v);
	/* counted below a limit only when its whole bucket is */
	t_check_eq(latency_count_below(hist, 2000), 1);
	t_check_eq(latency_count_below(hist, 1000), 0);
	t_check_eq(latency_count_below(hist, 0), 0);
	/* small values are exact */
	memset(hist, 0, sizeof(hist));
	latency_add(hist, 7);
	t_check_eq(latency_percentile(hist, 99), 7);

	/* 99 fast and 1 slow: p99 is fast, p99.5 and p100 slow */
	memset(hist, 0, sizeof(hist));
	for (i = 0; i < 99; i++)
		latency_add(hist, 100);
	latency_add(hist, 1000000);
	near(latency_percentile(hist, 50), 100, "p50");
	t_check_eq(latency_bucket(latency_percentile(hist, 99)),
		   latency_bucket(100));
	t_check_eq(latency_bucket(latency_percentile(hist, 99.5)),
		   latency_bucket(1000000));
	t_check_eq(latency_bucket(latency_percentile(hist, 100)),
		   latency_bucket(1000000));

	/* uniform over [0, 1 ms) */
	memset(hist, 0, sizeof(hist));
	for (i = 0; i < 200000; i++)
		latency_add(hist, t_rand(&seed) % 1000000);
	near(latency_percentile(hist, 50), 500000, "uniform p50");
	near(latency_percentile(hist, 90), 900000, "uniform p90");
	near(latency_percentile(hist, 99), 990000, "uniform p99");

	/* exponential, mean 50 us: p50 = ln 2 * mean, p99 = ln 100 * mean */
	memset(hist, 0, sizeof(hist));
	for (i = 0; i < 200000; i++) {
		double u = ((double)(t_rand(&seed) >> 11) + 0.5) / 9007199254740992.0;

		latency_add(hist, (uint64_t)(-log(u) * 50000.0));
	}
	near(latency_percentile(hist, 50), (uint64_t)(0.693147 * 50000), "exp p50");
	near(latency_percentile(hist, 99), (uint64_t)(4.605170 * 50000), "exp p99");

	/* forged counts saturate instead of wrapping */
	memset(hist, 0, sizeof(hist));
	hist[3] = UINT64_MAX;
	hist[200] = UINT64_MAX;
	t_check(latency_count(hist) == UINT64_MAX);
	t_check_eq(latency_percentile(hist, 50), 3);
	t_check(latency_percentile(hist, 100) >= latency_bucket_floor(3));
	/* out-of-range percentiles are clamped */
	t_check_eq(latency_percentile(hist, -5), 3);
	t_check_eq(latency_percentile(hist, NAN), 3);
}

int main(void)
{
	test_buckets();
	test_percentiles();
	return 0;
}
