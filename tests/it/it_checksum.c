/* SPDX-License-Identifier: MIT */
/* A corrupted frame gives SIGBUS at the faulting address, never bytes. */
#include <dirent.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "itest.h"

#define LEN (8 * IT_MB)

static sigjmp_buf jb;
static volatile void *bus_addr;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	bus_addr = si->si_addr;
	siglongjmp(jb, 1);
}

/* Our arena as the agent mapped it (MAP_SHARED, writable). */
static struct uz_arena_hdr *find_arena(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long a = 0;

	while (fgets(line, sizeof(line), f))
		if (strstr(line, "uzswap-arena")) {
			sscanf(line, "%lx-", &a);
			break;
		}
	fclose(f);
	it_assert(a, "no arena mapping");
	return (struct uz_arena_hdr *)a;
}

/* The arena's memfd, opened again read-write through the agent
 * thread's descriptor table (/proc/self/task/TID/fd). */
static int arena_fd(void)
{
	char path[400], target[256];
	struct dirent *e;
	DIR *tasks = opendir("/proc/self/task");
	int fd;

	it_assert(tasks, "cannot list /proc/self/task");
	while ((e = readdir(tasks))) {
		if (e->d_name[0] == '.')
			continue;
		for (fd = 0; fd < 4096; fd++) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/self/task/%s/fd/%d",
				 e->d_name, fd);
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (strstr(target, "uzswap-arena")) {
				closedir(tasks);
				return open(path, O_RDWR | O_CLOEXEC);
			}
		}
	}
	it_fail("no arena descriptor");
}

/* Flip a payload byte of a compressed frame @f of the block at @blk. */
static void corrupt(struct uz_arena_hdr *h, const uint8_t *blk, unsigned f)
{
	struct uz_block_rec *r = (struct uz_block_rec *)((uint8_t *)h + h->rec_off);
	uint32_t i;

	for (i = 0; i < h->rec_count; i++, r++)
		if (r->state == UZ_REC_STORED && r->addr == (uintptr_t)blk) {
			struct uz_frame_desc *d = &r->frames[f];

			it_assert(d->len > 16, "frame %u has no payload (kind %u)", f,
				  d->kind);
			/* payload is not mapped (the agent maps only up to
			 * it): through the memfd itself */
			off_t at = (off_t)(r->extent_off + d->off + d->len / 2);
			uint8_t byte;
			int fd = arena_fd();

			it_assert(pread(fd, &byte, 1, at) == 1, "arena pread");
			byte ^= 0x40;
			it_assert(pwrite(fd, &byte, 1, at) == 1, "arena pwrite");
			close(fd);
			return;
		}
	it_fail("no record for block %p", blk);
}

/* Touch @p; return 1 when it raised SIGBUS at @p's page. */
static int touch_bus(const uint8_t *p)
{
	bus_addr = NULL;
	if (sigsetjmp(jb, 1) == 0) {
		(void)*(volatile const uint8_t *)p;
		return 0;
	}
	return (uintptr_t)bus_addr >> 12 == (uintptr_t)p >> 12;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
	uint8_t *m, *ref;
	struct uz_arena_hdr *h;
	unsigned f;

	it_setup(argc, argv);
	sigaction(SIGBUS, &sa, NULL);
	m = it_alloc(LEN, 1);
	ref = it_alloc(LEN, 0);
	/* text-like data: every frame compresses, so every frame has bytes */
	for (size_t i = 0; i < LEN; i++)
		m[i] = "uzswap keeps huge pages whole "[i % 30] + (i >> 16) % 7;
	memcpy(ref, m, LEN);
	it_evict_all();
	h = find_arena();
	corrupt(h, m, 5);		   /* block 0, restored 64 KB at a time */
	corrupt(h, m + IT_BLOCK, 9);	   /* block 1, restored as 2 MB */
	corrupt(h, m + 3 * IT_BLOCK, 3);   /* block 3, a page at a time */

	it_assert(touch_bus(m + 5 * 65536 + 100), "no SIGBUS in the bad frame");
	it_assert(touch_bus(m + 5 * 65536 + 60000), "bad frame readable later");
	for (f = 0; f < 32; f++)
		if (f != 5)
			it_assert(!memcmp(m + f * 65536, ref + f * 65536, 65536),
				  "good frame %u of block 0 differs", f);

	/* a page alone: the whole bad frame is poisoned and forgotten, so
	 * no later restore of its other pages decodes it again (a read
	 * that worked then would copy over the first page's poison) */
	it_assert(touch_bus(m + 3 * IT_BLOCK + 3 * 65536 + 7 * 4096 + 5),
		  "no SIGBUS on a page of a bad frame");
	it_assert(touch_bus(m + 3 * IT_BLOCK + 3 * 65536 + 12 * 4096),
		  "no SIGBUS on another page of that frame");
	it_assert(it_stat("csum_failures") == 2, "csum_failures is %lu after "
		  "two bad frames touched three times, not 2",
		  (unsigned long)it_stat("csum_failures"));

	/* page 0 asks for the whole block; the bad frame must not come in */
	it_assert(!touch_bus(m + IT_BLOCK), "SIGBUS on a good frame");
	it_assert(touch_bus(m + IT_BLOCK + 9 * 65536), "no SIGBUS in bad frame 9");
	for (f = 0; f < 32; f++)
		if (f != 9)
			it_assert(!memcmp(m + IT_BLOCK + f * 65536,
					  ref + IT_BLOCK + f * 65536, 65536),
				  "good frame %u of block 1 differs", f);
	it_assert(!memcmp(m + 2 * IT_BLOCK, ref + 2 * IT_BLOCK,
			  IT_BLOCK + 3 * 65536) &&
		  !memcmp(m + 3 * IT_BLOCK + 4 * 65536, ref + 3 * IT_BLOCK + 4 * 65536,
			  LEN - 3 * IT_BLOCK - 4 * 65536),
		  "other blocks differ");
	it_assert(it_stat("csum_failures") == 3, "csum_failures is %lu, not 3",
		  (unsigned long)it_stat("csum_failures"));
	{
		/* the daemon logged both blocks */
		char cmd[512];

		usleep(100000);
		snprintf(cmd, sizeof(cmd), "test \"$(grep -c 'failed its checksum' %s)\" = 3",
			 getenv("IT_DAEMON_LOG"));
		it_assert(system(cmd) == 0, "uzswapd did not log the three bad frames");
	}
	printf("three corrupt frames: SIGBUS at the faulting address, all else intact\n");
	return 0;
}
