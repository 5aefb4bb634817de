/* SPDX-License-Identifier: MIT */
/*
 * The agent's descriptors are not in the application's table: a program
 * that lists its descriptors sees only its own, before and after memory
 * was evicted, and in a forked child; one that dup2()s onto any number,
 * or closes every descriptor with the raw close_range system call (no
 * interposer to step over anything), still reads every evicted byte.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

/* Is the descriptor behind @link one of the agent's kinds? */
static int agent_kind(const char *link)
{
	return strstr(link, "userfaultfd") || strstr(link, "uzswap-arena") ||
	       strstr(link, "pagemap") || strstr(link, "eventfd");
}

/* Descriptors of the agent's kinds (or at 900 and up, where it used to
 * put them) in directory @dir; the first one's name in @what. */
static int agent_fds_in(const char *dir, char *what, size_t what_len)
{
	char path[512], link[256];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0, fd = d ? dirfd(d) : -1;

	it_assert(d, "cannot list %s", dir);
	while ((e = readdir(d))) {
		ssize_t k;

		if (e->d_name[0] == '.' || atoi(e->d_name) == fd)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		k = readlink(path, link, sizeof(link) - 1);
		if (k < 0)
			continue;
		link[k] = 0;
		if (agent_kind(link) || atoi(e->d_name) >= 900) {
			if (!n)
				snprintf(what, what_len, "%s -> %s", e->d_name, link);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* The application's table must hold none of the agent's. */
static int table_clean(const char *when)
{
	char what[600] = "";
	int n = agent_fds_in("/proc/self/fd", what, sizeof(what));

	if (n)
		fprintf(stderr, "%s: %d of the agent's descriptors in the "
			"application's table, first %s\n", when, n, what);
	return !n;
}

/* ...and the agent must be there all the same (in a task's own table),
 * or this test would pass without it. */
static int agent_present(void)
{
	char dir[300], what[600];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	int found = 0;

	it_assert(d, "cannot list /proc/self/task");
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "/proc/self/task/%s/fd", e->d_name);
		found = agent_fds_in(dir, what, sizeof(what)) > 0;
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	uint8_t *m;
	int st, fd;
	pid_t c;

	it_setup(argc, argv);
	alarm(120);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 11);

	it_assert(agent_present(), "no agent thread holds a userfaultfd");
	it_assert(table_clean("with nothing evicted"),
		  "the agent's descriptors are visible to the application");
	it_evict_all();
	it_assert(it_stat("evicted_bytes") > 0, "nothing was evicted");
	it_assert(table_clean("with memory evicted"),
		  "the agent's descriptors are visible to the application");

	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		if (!table_clean("in a forked child"))
			_exit(2);
		if (!agent_present())
			_exit(3);
		_exit(it_check(m, LEN, 11) < 0 ? 0 : 1);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2,
		  "a forked child sees the agent's descriptors");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 3,
		  "a forked child has no agent");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "a forked child read wrong bytes (status %#x)", st);

	/* any number is the application's to use */
	fd = open("/dev/null", O_RDONLY);
	it_assert(fd >= 0, "cannot open /dev/null");
	for (int i = 900; i < 932; i++)
		it_assert(dup2(fd, i) == i, "dup2 onto %d failed", i);
	for (int i = 900; i < 932; i++)
		it_assert(!close(i), "close(%d) failed", i);

	/* the raw system call: nothing of ours to step over */
	it_assert(!syscall(SYS_close_range, 3, ~0U, 0), "close_range failed");
	it_assert(fcntl(fd, F_GETFD) < 0, "close_range left %d open", fd);
	it_assert(it_check(m, LEN, 11) < 0,
		  "after closing every descriptor the process read wrong bytes");
	printf("ok: no agent descriptor in the application's table; "
	       "every byte right after dup2 and close_range\n");
	return 0;
}
