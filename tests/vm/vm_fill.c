/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/cgv2.sh's job: fill MIB of anonymous memory (THP-advised) with
 * text-like bytes that say where they are, at RATE MB/s (0: as fast as
 * it can), sleep SECONDS, then read every byte back and check it.
 *
 *   vm_fill MIB RATE SECONDS
 *
 * Exit 0: every byte right; 1: a wrong byte (which one is said); 2: bad
 * arguments; 99: no memory.  Prints how long the fill took.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MB (1ul << 20)
#define PAGE 4096ul

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The byte at offset @i: words of a few letters, with the page number
 * woven in, so that a page put back at the wrong place is caught and
 * the data compresses about as text does. */
static unsigned char byte_at(size_t i)
{
	size_t page = i / PAGE, o = i % PAGE;
	uint64_t h = (page * 0x9e3779b97f4a7c15ull) ^ (o / 16);

	if (o % 16 == 15)
		return ' ';
	if (o % 64 < 8)
		return (unsigned char)('0' + (page >> (3 * (o % 8)) & 7));
	return (unsigned char)('a' + (h >> 40) % 8);
}

int main(int argc, char **argv)
{
	size_t size, i;
	unsigned char *m;
	double rate, t0, took;
	unsigned secs;

	if (argc != 4) {
		fprintf(stderr, "usage: vm_fill MIB RATE_MB_S SECONDS\n");
		return 2;
	}
	size = strtoul(argv[1], NULL, 10) * MB;
	rate = strtod(argv[2], NULL);
	secs = (unsigned)strtoul(argv[3], NULL, 10);
	if (!size || rate < 0) {
		fprintf(stderr, "vm_fill: bad arguments\n");
		return 2;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (m == MAP_FAILED)
		return 99;
	madvise(m, size, MADV_HUGEPAGE);
	t0 = now_s();
	for (size_t mb = 0; mb < size / MB; mb++) {
		for (i = mb * MB; i < (mb + 1) * MB; i++)
			m[i] = byte_at(i);
		/* at RATE: the next MB waits for its time */
		if (rate > 0) {
			double due = t0 + (double)(mb + 1) / rate;

			while (now_s() < due)
				usleep(1000);
		}
	}
	took = now_s() - t0;
	printf("vm_fill: %zu MiB in %.2f s (%.0f MB/s)\n", size / MB, took,
	       (double)(size / MB) / took);
	fflush(stdout);
	sleep(secs);
	for (i = 0; i < size; i++)
		if (m[i] != byte_at(i)) {
			printf("vm_fill: WRONG byte at offset %zu: %#x, want %#x\n",
			       i, m[i], byte_at(i));
			return 1;
		}
	printf("vm_fill: every byte right\n");
	return 0;
}
