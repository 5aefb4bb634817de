/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target without libFuzzer, as an ordinary test: fixed-seed
 * pseudo-random inputs and mutations of the target's valid inputs.
 * Arguments, if any, are files to replay (a crash found by libFuzzer);
 * "--seeds DIR" writes the target's valid inputs to DIR as a starting
 * corpus for libFuzzer.  UZ_FUZZ_RUNS sets the number of inputs
 * (default 20000).  Under `make check` (top_srcdir set) the files of
 * tests/fuzz/regress/NAME are replayed first, NAME being the program's
 * name less "fuzz_".
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX (1u << 17)
#define FUZZ_SEED 0x757a66757a7aull

static uint64_t rnd_state = FUZZ_SEED;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Small lengths are the most telling; now and then a big one. */
static size_t rnd_len(void)
{
	switch (rnd() % 4) {
	case 0: return rnd() % 32;
	case 1: return rnd() % 512;
	case 2: return rnd() % 8192;
	default: return rnd() % FUZZ_MAX;
	}
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

/* One of libFuzzer's kinds of mutation, applied at random. */
static size_t mutate(uint8_t *b, size_t n)
{
	static const uint64_t interesting[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff,
		0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, ~0ull,
	};
	size_t at = n ? rnd() % n : 0, len;
	uint64_t v;

	switch (rnd() % 7) {
	case 0: /* flip a bit */
		if (n)
			b[at] ^= 1u << (rnd() % 8);
		break;
	case 1: /* a random byte */
		if (n)
			b[at] = (uint8_t)rnd();
		break;
	case 2: /* an interesting integer of 1..8 bytes */
		v = interesting[rnd() % (sizeof(interesting) / 8)];
		if (rnd() % 2)
			v = -v;
		len = 1 + rnd() % 8;
		if (at + len <= n)
			memcpy(b + at, &v, len);
		break;
	case 3: /* cut the tail */
		n = at;
		break;
	case 4: /* grow with random bytes */
		len = rnd() % 64;
		if (n + len <= FUZZ_MAX) {
			rnd_bytes(b + n, len);
			n += len;
		}
		break;
	case 5: /* copy a chunk elsewhere */
		len = n ? rnd() % (n - at + 1) : 0;
		if (len) {
			size_t to = rnd() % (n - len + 1);

			memmove(b + to, b + at, len);
		}
		break;
	default: /* small arithmetic */
		if (n)
			b[at] += (uint8_t)(rnd() % 35) - 17;
		break;
	}
	return n;
}

/* Write @n bytes to DIR/seed-@k. */
static int save_seed(const char *dir, unsigned k, const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%u", dir, k);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
		perror(path);
		return 99;
	}
	return 0;
}

static int replay(const char *path)
{
	static uint8_t buf[FUZZ_MAX * 8];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return 99;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

/* Every file but dot files, such as a .gitkeep. */
static int is_input(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Replay the regression inputs kept for @prog; how many, or -1. */
static int replay_regress(const char *prog)
{
	const char *top = getenv("top_srcdir"), *name = strrchr(prog, '/');
	char dir[4096], path[4096 + 256];
	struct dirent **names;
	int n, i, err = 0;

	if (!top)
		return 0;
	name = name ? name + 1 : prog;
	if (!strncmp(name, "fuzz_", 5))
		name += 5;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", top, name);
	n = scandir(dir, &names, is_input, alphasort);
	if (n < 0) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!err)
			err = replay(path);
		free(names[i]);
	}
	free(names);
	return err ? -1 : n;
}

int main(int argc, char **argv)
{
	static uint8_t seeds[16][FUZZ_MAX], buf[FUZZ_MAX];
	size_t seed_len[16], n;
	const char *env = getenv("UZ_FUZZ_RUNS");
	unsigned long runs = env ? strtoul(env, NULL, 0) : 20000, r;
	unsigned nseeds = 0, k;
	int i, nregress;

	if (argc == 3 && !strcmp(argv[1], "--seeds")) {
		for (k = 0; k < 16 && (n = fuzz_seed_input(k, buf, FUZZ_MAX)); k++)
			if (save_seed(argv[2], k, buf, n))
				return 99;
		return 0;
	}
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay(argv[i]))
				return 99;
		return 0;
	}
	nregress = replay_regress(argv[0]);
	if (nregress < 0)
		return 99;
	while (nseeds < 16 && (seed_len[nseeds] = fuzz_seed_input(
				       nseeds, seeds[nseeds], FUZZ_MAX)))
		nseeds++;
	for (k = 0; k < nseeds; k++)
		LLVMFuzzerTestOneInput(seeds[k], seed_len[k]);
	for (r = 0; r < runs; r++) {
		if (!nseeds || rnd() % 4 == 0) {
			n = rnd_len();
			rnd_bytes(buf, n);
		} else {
			k = rnd() % nseeds;
			n = seed_len[k];
			memcpy(buf, seeds[k], n);
			for (k = 1 + rnd() % 8; k; k--)
				n = mutate(buf, n);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%s: %d regression inputs, %lu inputs (%u seed inputs, "
	       "seed %#llx): no failure\n", argv[0], nregress, runs, nseeds,
	       (unsigned long long)FUZZ_SEED);
	return 0;
}
