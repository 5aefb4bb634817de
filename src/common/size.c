/* SPDX-License-Identifier: MIT */
/* Parsing and printing of sizes: "4096", "64K", "1.5G", "25%" (of RAM). */
#include <errno.h>
#include <stdio.h>

#include "size.h"

#define UZ_SIZE_FRAC_DIGITS 18 /* 10^18 < 2^60: products fit in 128 bits */

typedef unsigned __int128 u128;

/* Shift of a unit letter (K = 10 ... T = 40), or -1. */
static int size_unit_shift(char c)
{
	switch (c | 0x20) {
	case 'k': return 10;
	case 'm': return 20;
	case 'g': return 30;
	case 't': return 40;
	}
	return -1;
}

/* Is @s, after a unit letter, empty, "B" or "iB" (any case)? */
static int size_suffix_ok(const char *s)
{
	if ((*s | 0x20) == 'i')
		s++;
	else if (!*s)
		return 1;
	return (*s | 0x20) == 'b' && !s[1];
}

/*
 * The value is exact (integer part, up to 18 fraction digits) and the
 * result rounds down: "1.5" is 1 byte, "0.3K" is 307.  Digits past the
 * 18th are ignored.
 */
int size_parse(const char *s, uint64_t percent_base, uint64_t *out)
{
	uint64_t ip = 0, frac = 0, scale = 1;
	unsigned fd = 0;
	int shift;
	u128 v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL; /* empty, sign, space */
	for (; *s >= '0' && *s <= '9'; s++) {
		if (ip > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		ip = ip * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++, fd++) {
			if (fd >= UZ_SIZE_FRAC_DIGITS)
				continue;
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	if (*s == '%') {
		if (s[1] || !percent_base)
			return -EINVAL;
		/* floor((ip + frac/scale) * base / 100), in two exact parts */
		v = (u128)ip * percent_base;
		if (v / 100 > UINT64_MAX)
			return -ERANGE;
		v = v / 100 + ((v % 100) * scale + (u128)frac * percent_base) /
				      ((u128)100 * scale);
	} else {
		shift = 0;
		if ((*s | 0x20) == 'b') {
			if (s[1]) /* plain bytes: "4096B" */
				return -EINVAL;
		} else if (*s) {
			shift = size_unit_shift(*s++);
			if (shift < 0 || !size_suffix_ok(s))
				return -EINVAL;
		}
		v = ((u128)ip << shift) + (((u128)frac << shift) / scale);
	}
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* "0", "512", "4K", "1.5M", "2G": one decimal below 10 units when the
 * value is not whole, rounded to nearest; T is the largest unit so that
 * size_parse() reads every output back. */
char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	unsigned u = 0, shift = 10;
	u128 tenths, whole;

	if (!buf || !len)
		return buf;
	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	while (u < 3 && bytes >> (shift + 10)) {
		u++;
		shift += 10;
	}
	tenths = (((u128)bytes * 10) + ((u128)1 << (shift - 1))) >> shift;
	whole = (bytes + ((u128)1 << (shift - 1))) >> shift;
	/* 1023.6K rounds up to the next unit */
	if (whole >= 1024 && u < 3) {
		u++;
		shift += 10;
		tenths = (((u128)bytes * 10) + ((u128)1 << (shift - 1))) >> shift;
		whole = (bytes + ((u128)1 << (shift - 1))) >> shift;
	}
	/* rounding up must not print more than fits in 64 bits */
	if (whole << shift > UINT64_MAX)
		whole = bytes >> shift;
	if (tenths < 100 && tenths % 10)
		snprintf(buf, len, "%u.%u%c", (unsigned)(tenths / 10),
			 (unsigned)(tenths % 10), units[u]);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)whole, units[u]);
	return buf;
}
