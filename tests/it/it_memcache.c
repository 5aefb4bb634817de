/* SPDX-License-Identifier: MIT */
/*
 * Page cache the kernel reclaims first does not count against a
 * cgroup's limit, neither in the daemon's limit steps nor in the
 * agent's guard before a restore (limitguard.c): the kernel drops the
 * cache at the limit before it would call the OOM killer.  sort(1)
 * reading its input had 560 MB of such cache in a 1 GiB cgroup, and
 * lost as much of its own memory to eviction instead, for good (the
 * cache never went: the usage stayed under the limit).
 *   1. A job whose cgroup is full, more than half of it a file it read
 *      once, is not taken from as if near its limit.  A target above
 *      what the job uses keeps the ordinary steps out of it: whatever
 *      is taken was taken for the limit.
 *   2. Its memory evicted, the file read again, its memory read back:
 *      the guard takes nothing out (GUARD 0), and every byte is right.
 * Root and the cgroup v1 memory controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LIMIT (200 * IT_MB)
#define CACHE (128 * IT_MB)
#define ANON (80 * IT_MB)

static const char config[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=500\n"
	"auto-pressure=100\n"
	"auto-refaults=100\n"
	"target=95%\n";
static const char guard_alone[] =
	"[daemon]\n"
	"auto=off\n";
static char cg[256], file[256];

static void cleanup(void)
{
	if (file[0])
		unlink(file);
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_memcache: could not remove %s: %s\n", cg,
			strerror(errno));
}

/* In the cgroup: the file read once, into its page cache; then memory
 * of its own; then the daemon's passes. */
static void read_file(void)
{
	static char buf[1 << 20];
	ssize_t n;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	it_assert(fd >= 0, "%s: %s", file, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
}

static void job(void)
{
	char state[32] = "";
	uint64_t *m;

	it_cgroup_join(cg);
	read_file();
	m = it_alloc(ANON, 1);
	for (size_t w = 0; w < ANON / 8; w++)
		m[w] = it_text_word(w);
	sleep(5); /* ten passes of the loop */
	it_auto_state(getpid(), state, sizeof(state));
	printf("a job of %lu MB with %lu MB of file cache in a %lu MB cgroup: "
	       "%lu bytes taken, state %s\n", ANON >> 20, CACHE >> 20,
	       LIMIT >> 20, (unsigned long)it_stat("evicted_bytes"), state);
	it_assert(!it_stat("evicted_bytes"), "%lu bytes taken from a job "
		  "whose cgroup is near its limit only with its page cache "
		  "counted (state %s)", (unsigned long)it_stat("evicted_bytes"),
		  state);
	for (size_t w = 0; w < ANON / 8; w++)
		it_assert(m[w] == it_text_word(w), "wrong byte in word %zu", w);
	/* 2: the guard alone (no limit steps to make room before it) */
	it_reload(guard_alone);
	it_evict_all();
	read_file();
	for (size_t w = 0; w < ANON / 8; w++)
		it_assert(m[w] == it_text_word(w), "read back: wrong byte in "
			  "word %zu", w);
	printf("its %lu MB evicted and read back beside the file, cached "
	       "again: %lu block(s) taken out by the guard\n", ANON >> 20,
	       (unsigned long)it_stat("guard_blocks"));
	it_assert(!it_stat("guard_blocks"), "the guard took memory out for "
		  "a restore that the page cache made room for");
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	pid_t c;
	int st, fd;

	it_need_memcg_v1();
	it_setup_config(argc, argv, config);
	it_watchdog(120, "it_memcache");
	snprintf(cg, sizeof(cg), IT_MEMCG_V1 "/uzswap-it-%d", getpid());
	/* on a disk: page cache, not tmpfs's shared memory */
	snprintf(file, sizeof(file), "/var/tmp/uzswap-it-memcache-%d", getpid());
	atexit(cleanup);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	it_assert(fd >= 0, "%s: %s", file, strerror(errno));
	memset(buf, 'x', sizeof(buf));
	for (size_t done = 0; done < CACHE; done += sizeof(buf))
		it_assert(write(fd, buf, sizeof(buf)) == sizeof(buf), "write");
	/* out of our page cache, so that the job's read charges it there */
	it_assert(!fdatasync(fd) && !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED),
		  "dropping %s from the page cache", file);
	close(fd);
	it_memcg_make(cg, LIMIT);
	c = fork();
	it_assert(c >= 0, "fork");
	if (!c)
		job();
	it_assert(waitpid(c, &st, 0) == c, "waitpid");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the job failed (status %#x)",
		  st);
	return 0;
}
