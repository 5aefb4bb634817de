/* SPDX-License-Identifier: MIT */
/*
 * Jobs that fill new memory in a limited cgroup, with the automatic
 * loop at its defaults and no kernel swap, are not OOM-killed, and read
 * every byte back right (review probes pF and pA, /var/tmp/rev13-probes):
 *  1. 2.6 GB filled at full speed in a 2 GiB cgroup, then read back
 *     whole (kept).  The fill rate that decides a hold read low while
 *     the job was frozen, so it went unheld and was killed (3 of 3).
 *     Then, read back whole, the agent met the OOM killer in 4 of 10
 *     runs on a loaded machine: a fault read between the blocks of a
 *     walk was served with no room made (the guard cannot nest in a
 *     walk); now it waits for the walk to free more, a second at most.
 *  2. 600 MB filled at 100 MB/s in a 400 MB cgroup inside a 1 GiB one
 *     (read back, each 8 MB let go of once checked)
 *     whose other child holds 700 MB of a file's page cache: the daemon
 *     chose the level nearest its limit by usage with the cache in, the
 *     parent, and left the job's own limit unwatched (killed 2 of 2).
 * Root, the cgroup v1 memory controller and freezer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define FREEZER "/sys/fs/cgroup/freezer"
#define BIG_LIMIT (2048 * IT_MB)
#define BIG_FILL (2600 * IT_MB)
#define PARENT_LIMIT (1024 * IT_MB)
#define JOB_LIMIT (400 * IT_MB)
#define JOB_FILL (600 * IT_MB)
#define CACHE (700 * IT_MB)
#define CHUNK (8 * IT_MB)

static const char config[] =
	"[daemon]\n"
	"auto=on\n";
/* the cgroups, children before their parent */
static char big[256], parent[256], job_cg[300], cache_cg[300], file[256];

static void cleanup(void)
{
	const char *const dirs[] = { big, job_cg, cache_cg, parent };

	if (file[0])
		unlink(file);
	for (unsigned i = 0; i < 4; i++)
		if (dirs[i][0] && it_memcg_remove(dirs[i]))
			fprintf(stderr, "it_memfill: could not remove %s: %s\n",
				dirs[i], strerror(errno));
}

/* Fill @len of text words, @pause_us after each 8 MB (0: none), then
 * check them all twice, the whole mapping kept (@let_go: once, each
 * 8 MB unmapped once checked). */
static void fill_and_check(size_t len, unsigned pause_us, int let_go)
{
	uint64_t *m = it_alloc(len, 1);

	for (size_t w = 0; w < len / 8; w++) {
		m[w] = it_text_word(w);
		if (pause_us && w % (CHUNK / 8) == CHUNK / 8 - 1)
			usleep(pause_us);
	}
	for (int round = 0; round < (let_go ? 1 : 2); round++)
		for (size_t w = 0; w < len / 8; w++) {
			it_assert(m[w] == it_text_word(w), "round %d: wrong byte "
				  "in word %zu (%zu MB in)", round, w, w * 8 >> 20);
			if (let_go && w % (CHUNK / 8) == CHUNK / 8 - 1)
				munmap(m + w + 1 - CHUNK / 8, CHUNK);
		}
}

/* Run @fn in a child in cgroup @cg; fail if the OOM killer ended it. */
static void run_job(const char *cg, void (*fn)(void), const char *what)
{
	char path[320], failcnt[32] = "?";
	int st, fd;
	pid_t c = fork();

	it_assert(c >= 0, "fork");
	if (!c) {
		it_cgroup_join(cg);
		fn();
		_exit(0);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid");
	snprintf(path, sizeof(path), "%s/memory.failcnt", cg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, failcnt, sizeof(failcnt) - 1);

		failcnt[n > 0 ? n - 1 : 0] = 0;
		close(fd);
	}
	it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL), "%s: the job "
		  "was killed (the OOM killer)", what);
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "%s: the job failed "
		  "(status %#x)", what, st);
	printf("%s: finished, every byte checked (the limit met %s time(s))\n", what,
	       failcnt);
	fflush(stdout);
}

static void big_fill(void)
{
	fill_and_check(BIG_FILL, 0, 0);
}

static void slow_fill(void)
{
	/* 8 MB every 80 ms: 100 MB/s */
	fill_and_check(JOB_FILL, 80000, 1);
}

/* In the cache's cgroup: the file read once, into its page cache. */
static void read_file(void)
{
	static char buf[1 << 20];
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	it_assert(fd >= 0, "%s: %s", file, strerror(errno));
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void make_file(void)
{
	static char buf[1 << 20];
	int fd;

	snprintf(file, sizeof(file), "/var/tmp/uzswap-it-memfill-%d", getpid());
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	it_assert(fd >= 0, "%s: %s", file, strerror(errno));
	memset(buf, 'c', sizeof(buf));
	for (size_t done = 0; done < CACHE; done += sizeof(buf))
		it_assert(write(fd, buf, sizeof(buf)) == sizeof(buf), "write %s",
			  file);
	/* out of our page cache, so that the reader charges it there */
	it_assert(!fdatasync(fd) && !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED),
		  "dropping %s from the page cache", file);
	close(fd);
}

int main(int argc, char **argv)
{
	struct stat st;

	it_need_memcg_v1();
	if (stat(FREEZER "/freezer.state", &st) && stat(FREEZER "/tasks", &st)) {
		printf("SKIP: needs the cgroup v1 freezer at %s (limit-hold)\n", FREEZER);
		return 77;
	}
	it_setup_config(argc, argv, config);
	it_watchdog(300, "it_memfill");
	atexit(cleanup);

	snprintf(big, sizeof(big), IT_MEMCG_V1 "/uzswap-it-%d-big", getpid());
	it_memcg_make(big, BIG_LIMIT);
	run_job(big, big_fill, "2.6 GB filled at full speed in a 2 GiB cgroup");

	make_file();
	snprintf(parent, sizeof(parent), IT_MEMCG_V1 "/uzswap-it-%d", getpid());
	snprintf(job_cg, sizeof(job_cg), "%s/job", parent);
	snprintf(cache_cg, sizeof(cache_cg), "%s/cache", parent);
	it_memcg_make(parent, PARENT_LIMIT);
	it_memcg_make(job_cg, JOB_LIMIT);
	it_assert(!mkdir(cache_cg, 0755), "mkdir %s: %s", cache_cg, strerror(errno));
	run_job(cache_cg, read_file, "700 MB of a file cached beside the job");
	run_job(job_cg, slow_fill, "600 MB filled at 100 MB/s in a 400 MB cgroup "
		"under a 1 GiB one full of a sibling's page cache");
	return 0;
}
