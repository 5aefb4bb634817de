/* SPDX-License-Identifier: MIT */
/*
 * The inactive list: what the automatic loop takes stays uncompressed,
 * out of the application's mapping, for min-age, then is compressed.
 *  - with a long min-age, memory leaves the mapping and nothing is
 *    compressed (uzswapctl top shows it, INACTIVE); a touch brings a block back whole, as a huge page,
 *    without a decode (no 2 MB or 64 KB restore), and counts as a
 *    refault;
 *  - MADV_DONTNEED of part of a block on the list reads back as zeros,
 *    the rest as it was;
 *  - mremap of a block on the list, aligned (re-keyed) and not (copied
 *    page by page), reads back right at its new place;
 *  - uzswapctl evict compresses what waits on the list;
 *  - fork() while blocks are on the list: the child reads every byte;
 *  - after a reload to min-age=1, taken memory is compressed on its own;
 *  - uzswapctl restore brings the list back and counts it;
 *  - with min-age=0 (as near a cgroup's limit) steps compress the list;
 *  - every byte reads back right.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define COLD (32 * IT_MB)
#define COLD2 (16 * IT_MB)
#define SEED 91
#define SEED2 92
#define COLD3 (8 * IT_MB)
#define SEED3 93


/* Is the block at @p out of the mapping (no page of it resident)? */
static int block_away(const uint8_t *p)
{
	unsigned char v[IT_BLOCK / 4096];

	it_assert(!mincore((void *)p, IT_BLOCK, v), "mincore failed");
	for (size_t i = 0; i < sizeof(v); i++)
		if (v[i] & 1)
			return 0;
	return 1;
}

/* The first block of [p, p + len) that is away, or NULL. */
static uint8_t *away_block(uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += IT_BLOCK)
		if (block_away(p + off))
			return p + off;
	return NULL;
}

/* Wait up to 30 s for a block of [@p, @p + @len) to be away (the loop
 * takes them in its own time: on a loaded machine one was not yet, a
 * tenth of a second after the list held enough); @what if none. */
static uint8_t *wait_away(uint8_t *p, size_t len, const char *what)
{
	double t0 = it_now_s();
	uint8_t *b;

	while (!(b = away_block(p, len)) && it_now_s() - t0 < 30)
		usleep(100000);
	it_assert(b, "after 30 s, %s", what);
	return b;
}

/* Wait up to 30 s for @key to reach @want; returns it. */
static uint64_t wait_stat(const char *key, uint64_t want)
{
	double t0 = it_now_s();
	uint64_t v;

	while ((v = it_stat(key)) < want && it_now_s() - t0 < 30)
		usleep(100000);
	it_assert(v >= want, "after 30 s %s is %llu, not %llu or more", key,
		  (unsigned long long)v, (unsigned long long)want);
	return v;
}

/* Byte @off of the it_fill(@seed) pattern, from a copy made for it. */
static uint8_t *reference(size_t len, uint64_t seed)
{
	uint8_t *r = malloc(len);

	it_assert(r, "malloc");
	it_fill(r, len, seed);
	return r;
}

static void check_range(const uint8_t *p, const uint8_t *ref, size_t len,
			const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ref[i])
			it_fail("%s: wrong byte at offset %zu (%#x, not %#x)", what,
				i, p[i], ref[i]);
}

int main(int argc, char **argv)
{
	uint64_t back0, r2m0, r64k0, refaults0;
	uint8_t *cold, *cold3, *ref, *b, *to;
	size_t touched = 0;
	int status;
	pid_t kid;

	it_need_auto_loop();
	it_setup_config(argc, argv, it_config_inactive);
	alarm(240);
	ref = reference(COLD, SEED);
	cold = it_alloc(COLD, 1);
	it_fill(cold, COLD, SEED);

	/* 1: taken uncompressed, nothing compressed */
	wait_stat("inactive_bytes", 8 * IT_MB);
	/* a step may come before the fill above is done (on a busy
	 * machine) and take other memory first: the walk goes on to ours */
	for (int i = 0; i < 300 && !away_block(cold, COLD / 2); i++)
		usleep(100000);
	it_assert(it_stat("evicted_bytes") == 0, "with min-age=600, %llu bytes "
		  "compressed already", (unsigned long long)it_stat("evicted_bytes"));
	printf("on the inactive list: %llu MB, nothing compressed\n",
	       (unsigned long long)(it_stat("inactive_bytes") >> 20));
	{
		/* uzswapctl top shows it: our line's INACTIVE, in MB */
		char out[1 << 14], want[32], cell[16] = "", *line;

		it_assert(!it_ctl(out, sizeof(out), "top -n 1"), "uzswapctl top");
		snprintf(want, sizeof(want), "\n%8d ", getpid());
		line = strstr(out, want);
		it_assert(line && sscanf(line, " %*d %*s %*s %*s %*s %15s", cell) == 1 &&
			  cell[strlen(cell) - 1] == 'M',
			  "uzswapctl top: no INACTIVE in MB on our line (%s): %s",
			  cell, out);
	}

	/* 2: a touch moves a block back whole, no decode */
	back0 = it_stat("inactive_back");
	r2m0 = it_stat("restores_2m");
	r64k0 = it_stat("restores_64k") + it_stat("restores_4k");
	refaults0 = it_stat("refaults");
	for (size_t off = 0; off < COLD / 2; off += IT_BLOCK)
		if (block_away(cold + off)) {
			it_assert(cold[off + 12345] == ref[off + 12345],
				  "block at +%zu MB: wrong byte", off >> 20);
			it_assert(!block_away(cold + off), "a touched block stayed away");
			touched++;
		}
	it_assert(touched, "no block of the first half was away");
	it_assert(it_stat("inactive_back") >= back0 + touched, "inactive_back "
		  "%llu after %zu touches (was %llu)",
		  (unsigned long long)it_stat("inactive_back"), touched,
		  (unsigned long long)back0);
	it_assert(it_stat("restores_2m") == r2m0 &&
		  it_stat("restores_64k") + it_stat("restores_4k") == r64k0,
		  "a block on the inactive list was decoded");
	it_assert(it_stat("refaults") >= refaults0 + touched,
		  "touches on the list are not counted as refaults");
	it_assert(it_huge_kb(cold, COLD / 2) > 0, "no huge page came back");
	printf("%zu blocks touched: moved back whole (%ld kB huge), no decode\n",
	       touched, it_huge_kb(cold, COLD / 2));

	/* 4: MADV_DONTNEED of 64 KB of a block on the list */
	wait_stat("inactive_bytes", 4 * IT_MB);
	b = wait_away(cold + COLD / 2, COLD / 2, "no block away in the second half");
	it_assert(!madvise(b + 65536, 65536, MADV_DONTNEED), "madvise");
	memset(ref + (b - cold) + 65536, 0, 65536);
	check_range(b, ref + (b - cold), IT_BLOCK, "after MADV_DONTNEED");
	printf("MADV_DONTNEED of part of a block on the list: zeros there, "
	       "the rest right\n");

	/* 5: mremap of blocks on the list, aligned and not; what moved
	 * is checked, and its old place mapped again with the same bytes */
	to = it_alloc(4 * IT_BLOCK, 0);
	for (int aligned = 1; aligned >= 0; aligned--) {
		uint8_t *dst = aligned ? to : to + 2 * IT_BLOCK - 8192;

		wait_stat("inactive_bytes", 2 * IT_MB);
		b = wait_away(cold + COLD / 2, COLD / 2, "no block away for mremap");
		it_assert(mremap(b, IT_BLOCK, IT_BLOCK,
				 MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst,
			  "mremap");
		check_range(dst, ref + (b - cold), IT_BLOCK, aligned ?
			    "after an aligned mremap" : "after an unaligned mremap");
		it_assert(mmap(b, IT_BLOCK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == b,
			  "mmap");
		memcpy(b, ref + (b - cold), IT_BLOCK);
	}
	printf("mremap of blocks on the list (aligned, unaligned): right at "
	       "the new place\n");

	/* 6: uzswapctl evict compresses what waits on the list */
	wait_stat("inactive_bytes", 2 * IT_MB);
	it_evict_all();
	it_assert(it_stat("inactive_bytes") == 0, "after uzswapctl evict, %llu "
		  "bytes still on the list",
		  (unsigned long long)it_stat("inactive_bytes"));
	it_assert(it_stat("evicted_bytes") > 0, "uzswapctl evict compressed "
		  "nothing");
	printf("uzswapctl evict: the list compressed\n");

	/* 7: fork() with blocks on the list (last with @cold: after a
	 * fork, memory shared with the child cannot be moved out) */
	cold3 = it_alloc(COLD3, 1);
	it_fill(cold3, COLD3, SEED3);
	wait_stat("inactive_bytes", 4 * IT_MB);
	kid = fork();
	it_assert(kid >= 0, "fork");
	if (!kid) {
		check_range(cold, ref, COLD, "in the child");
		_exit(it_check(cold3, COLD3, SEED3) < 0 ? 0 : 1);
	}
	it_assert(waitpid(kid, &status, 0) == kid && WIFEXITED(status) &&
		  !WEXITSTATUS(status), "the forked child read wrong bytes");
	printf("fork(): the child read every byte\n");

	/* 8: with min-age=1 what is taken is compressed on its own */
	{
		char *text = strdup(it_config_inactive);
		uint8_t *cold2;
		uint64_t stored0 = it_stat("inactive_stored");

		it_assert(text && strstr(text, "min-age=600"), "config text");
		memcpy(strstr(text, "min-age=600"), "min-age=1  ", 11);
		it_reload(text);
		cold2 = it_alloc(COLD2, 1);
		it_fill(cold2, COLD2, SEED2);
		wait_stat("inactive_stored", stored0 + 4);
		printf("min-age=1: %llu blocks compressed on their own\n",
		       (unsigned long long)(it_stat("inactive_stored") - stored0));
		it_assert(it_check(cold2, COLD2, SEED2) < 0,
			  "compressed-after-min-age memory wrong");
	}

	/* 9: a step with no min-age (as near a cgroup's limit) compresses
	 * what waits on the list, not only what it takes anew */
	{
		uint8_t *cold4;
		double t0;

		/* everything back: what is taken from here on is on the list */
		it_assert(!it_ctl(NULL, 0, "restore %d", getpid()), "uzswapctl restore");
		it_assert(!it_stat("evicted_bytes"), "evicted memory after a restore");
		/* min-age=600 again; the reload also ends the restore's pause */
		it_reload(it_config_inactive);
		cold4 = it_alloc(COLD3, 1);
		it_fill(cold4, COLD3, SEED3 + 1);
		wait_stat("inactive_bytes", 4 * IT_MB);
		{
			/* uzswapctl restore brings the list back, and says so */
			char out[512], *in;
			unsigned blocks = 0;

			it_assert(!it_ctl(out, sizeof(out), "restore %d", getpid()),
				  "uzswapctl restore");
			in = strstr(out, " in ");
			it_assert(!it_stat("evicted_bytes"), "with min-age=600, "
				  "memory was compressed");
			it_assert(in && sscanf(in, " in %u blocks", &blocks) == 1 &&
				  blocks >= 2, "uzswapctl restore did not count the "
				  "list: %s", out);
			printf("uzswapctl restore: %u blocks back from the list\n",
			       blocks);
		}
		/* a restore keeps the loop off for auto-guard; a reload ends that */
		it_reload(it_config_inactive);
		wait_stat("inactive_bytes", 4 * IT_MB);
		{
			char *text = strdup(it_config_inactive);

			it_assert(text, "strdup");
			memcpy(strstr(text, "min-age=600"), "min-age=0  ", 11);
			it_reload(text);
			free(text);
		}
		for (t0 = it_now_s(); it_stat("inactive_bytes") && it_now_s() - t0 < 30;)
			usleep(100000);
		it_assert(!it_stat("inactive_bytes"), "with min-age=0, %llu bytes "
			  "still wait on the list after 30 s",
			  (unsigned long long)it_stat("inactive_bytes"));
		it_assert(it_check(cold4, COLD3, SEED3 + 1) < 0,
			  "memory compressed off the list is wrong");
		printf("min-age=0: the list compressed by the loop's steps\n");
	}

	/* every byte */
	check_range(cold, ref, COLD, "at the end");
	printf("every byte right\n");
	return 0;
}
