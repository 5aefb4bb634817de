/* SPDX-License-Identifier: MIT */
/* The cgroup file readers (src/common/cgpath.c): a task's cgroups from
 * /proc/PID/cgroup, byte counts, and the page cache a limit does not
 * bind from memory.stat, on cgroup v1 and v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgpath.h"
#include "t.h"

#define MB (1ull << 20)

/* A memfd holding @text, for the readers that take a descriptor. */
static int file_of(const char *text)
{
	int fd = memfd_create("unit_cgpath", MFD_CLOEXEC);

	t_assert(fd >= 0, "memfd_create");
	t_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
	return fd;
}

static void bytes(void)
{
	uint64_t v = 0;
	int fd = file_of("1073741824\n");

	t_assert(!cg_bytes_read(fd, &v) && v == 1073741824, "a count: %llu",
		 (unsigned long long)v);
	close(fd);
	fd = file_of("max\n");
	t_assert(!cg_bytes_read(fd, &v) && v == CG_NO_LIMIT, "max: no limit");
	close(fd);
	fd = file_of("");
	t_assert(cg_bytes_read(fd, &v) < 0, "an empty file is an error");
	close(fd);
	t_assert(cg_v1_limit(9223372036854771712ull) == CG_NO_LIMIT,
		 "v1's 'none' is no limit");
}

/* v1 keys are the hierarchy's total_ ones: the level's own, above
 * them, must not be taken for them. */
static void cache_v1(void)
{
	char text[1024];
	uint64_t v = 1;
	int fd;

	snprintf(text, sizeof(text),
		 "cache 1\ninactive_file 1\nactive_file 1\nmapped_file 0\n"
		 "dirty 0\nwriteback 0\n"
		 "total_cache %llu\ntotal_mapped_file %llu\ntotal_dirty %llu\n"
		 "total_writeback %llu\ntotal_inactive_file %llu\n"
		 "total_active_file %llu\n",
		 500 * MB, 4 * MB, 20 * MB, 10 * MB, 300 * MB, 100 * MB);
	fd = file_of(text);
	t_assert(!cg_cache_read(fd, 1, &v), "v1 memory.stat read");
	/* 400 MB of file pages less 4 mapped, half of 30 dirty or under
	 * writeback, and the 16 MB reserve */
	t_assert(v == 365 * MB, "v1: 365 MB of cache the limit does not bind, "
		 "not %llu", (unsigned long long)v);
	close(fd);
}

static void cache_v2(void)
{
	char text[1024];
	uint64_t v = 1;
	int fd;

	snprintf(text, sizeof(text),
		 "anon 1000\nfile %llu\nfile_mapped %llu\nfile_dirty %llu\n"
		 "file_writeback 0\ninactive_anon 5\nactive_anon 5\n"
		 "inactive_file %llu\nactive_file %llu\n",
		 64 * MB, 2 * MB, 4 * MB, 40 * MB, 24 * MB);
	fd = file_of(text);
	t_assert(!cg_cache_read(fd, 0, &v) && v == 44 * MB, "v2: 64 - 2 - 2 "
		 "- 16 = 44 MB, not %llu", (unsigned long long)v);
	close(fd);
	/* less cache than is kept back: none */
	fd = file_of("inactive_file 1048576\nactive_file 0\n");
	t_assert(!cg_cache_read(fd, 0, &v) && v == 0, "1 MB of cache: none "
		 "counted, not %llu", (unsigned long long)v);
	close(fd);
	/* no keys at all (another kernel's file): none */
	fd = file_of("something 5\n");
	t_assert(!cg_cache_read(fd, 1, &v) && v == 0, "no keys: none");
	close(fd);
}

static void paths(void)
{
	static struct cg_paths cg;
	char name[] = "/tmp/unit_cgpath.XXXXXX";
	const char text[] =
		"12:freezer:/uzswapd-1/42\n"
		"11:cpu,cpuacct,memory:/system.slice/a.service\n"
		"1:name=systemd:/x\n"
		"0::/user.slice/u\n";
	int fd = mkstemp(name);

	t_assert(fd >= 0, "mkstemp");
	t_assert(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1, "write");
	close(fd);
	t_assert(!cg_paths_read(name, &cg), "read %s", name);
	unlink(name);
	t_assert(!strcmp(cg.memory, "/system.slice/a.service"), "memory: %s", cg.memory);
	t_assert(!strcmp(cg.freezer, "/uzswapd-1/42"), "freezer: %s", cg.freezer);
	t_assert(!strcmp(cg.v2, "/user.slice/u"), "v2: %s", cg.v2);
	t_assert(cg_paths_read("/nonexistent/cgroup", &cg) < 0, "no file: an error");
}

int main(void)
{
	bytes();
	cache_v1();
	cache_v2();
	paths();
	printf("cgpath: byte counts, page cache (v1 totals, v2), cgroup lines as expected\n");
	return 0;
}
