/* SPDX-License-Identifier: MIT */
/* Sizes: what parses to what, what is refused, and the human form. */
#include <errno.h>
#include <string.h>

#include "size.h"
#include "t.h"

#define GIB (1ull << 30)

static void ok(const char *s, uint64_t base, uint64_t want)
{
	uint64_t v = 12345;
	int r = size_parse(s, base, &v);

	t_assert(r == 0, "'%s': %d", s, r);
	t_assert(v == want, "'%s' = %llu, expected %llu", s,
		 (unsigned long long)v, (unsigned long long)want);
}

static void bad(const char *s, uint64_t base, int err)
{
	uint64_t v = 12345;
	int r = size_parse(s, base, &v);

	t_assert(r == err, "'%s': %d, expected %d", s, r, err);
	t_assert(v == 12345, "'%s' wrote the result on failure", s);
}

static void fmt(uint64_t v, const char *want)
{
	char buf[32];

	t_assert(!strcmp(size_format(v, buf, sizeof(buf)), want),
		 "format(%llu) = '%s', expected '%s'", (unsigned long long)v, buf,
		 want);
}

int main(void)
{
	char buf[32], small[3];
	uint64_t v, seed = 1;
	int i;

	ok("0", 0, 0);
	ok("4096", 0, 4096);
	ok("4096B", 0, 4096);
	ok("64K", 0, 65536);
	ok("64k", 0, 65536);
	ok("64KB", 0, 65536);
	ok("64KiB", 0, 65536);
	ok("64kib", 0, 65536);
	ok("2M", 0, 2 << 20);
	ok("1G", 0, GIB);
	ok("1.5G", 0, GIB * 3 / 2);
	ok("1.5GiB", 0, GIB * 3 / 2);
	ok("2T", 0, 2ull << 40);
	ok("0.5K", 0, 512);
	ok("0.3K", 0, 307);     /* 307.2 rounds down */
	ok("1.5", 0, 1);        /* fractional bytes round down */
	ok("0.999999999999999999999999T", 0, (1ull << 40) - 1);
	ok("16777215.999999999999T", 0, UINT64_MAX - 1);
	ok("18446744073709551615", 0, UINT64_MAX);
	ok("25%", 8 * GIB, 2 * GIB);
	ok("12.5%", 8 * GIB, GIB);
	ok("100%", UINT64_MAX, UINT64_MAX);
	ok("33%", 100, 33);
	ok("0.5%", 100, 0);
	ok("150%", 1000, 1500);

	bad("", 0, -EINVAL);
	bad("-1", 0, -EINVAL);
	bad("+1", 0, -EINVAL);
	bad(" 1", 0, -EINVAL);
	bad("1 ", 0, -EINVAL);
	bad("1 K", 0, -EINVAL);
	bad("K", 0, -EINVAL);
	bad("1X", 0, -EINVAL);
	bad("1KX", 0, -EINVAL);
	bad("1Ki", 0, -EINVAL);
	bad("1KBB", 0, -EINVAL);
	bad("1BiB", 0, -EINVAL);
	bad("1P", 0, -EINVAL);
	bad("1.", 0, -EINVAL);
	bad(".5", 0, -EINVAL);
	bad("1.2.3", 0, -EINVAL);
	bad("0x10", 0, -EINVAL);
	bad("25%", 0, -EINVAL); /* no base */
	bad("25%K", 100, -EINVAL);
	bad("%", 100, -EINVAL);
	bad("18446744073709551616", 0, -ERANGE);
	bad("99999999999999999999999", 0, -ERANGE);
	bad("16777216T", 0, -ERANGE);
	bad("17179869184G", 0, -ERANGE);
	bad("101%", UINT64_MAX, -ERANGE);
	t_check_eq(size_parse(NULL, 0, &v), -EINVAL);

	fmt(0, "0");
	fmt(1, "1");
	fmt(1023, "1023");
	fmt(1024, "1K");
	fmt(4096, "4K");
	fmt(1536, "1.5K");
	fmt(3 << 19, "1.5M");
	fmt(2 * GIB, "2G");
	fmt(10 * GIB + GIB / 2, "11G"); /* one decimal only below 10 */
	fmt(1048575, "1M");             /* 1023.999K rounds into M */
	fmt(GIB - 1, "1G");
	fmt(5ull << 40, "5T");
	fmt(UINT64_MAX, "16777215T"); /* never rounds past 64 bits */
	t_check(!strcmp(size_format(3 << 19, small, sizeof(small)), "1."));
	/* the output reads back as nearly the same value */
	for (i = 0; i < 10000; i++) {
		uint64_t x = t_rand(&seed) >> (t_rand(&seed) % 64), y;

		size_format(x, buf, sizeof(buf));
		t_assert(!size_parse(buf, 0, &y), "'%s' does not parse", buf);
		t_assert((y > x ? y - x : x - y) <= x / 19 + 1,
			 "%llu -> '%s' -> %llu", (unsigned long long)x, buf,
			 (unsigned long long)y);
	}
	return 0;
}
