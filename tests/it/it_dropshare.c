/* SPDX-License-Identifier: MIT */
/*
 * A forked child that drops privileges (a pre-fork server's worker) must
 * not keep its root parent's arena: it shared it read-write, mapped and
 * by descriptor, and compromised after the drop could have read what
 * the parent evicts later and written frames back.  After setresuid()
 * the child's address space and descriptors hold none of the parent's
 * arena, every byte of its memory is right, and its new agent works.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

/* The inode of the arena mapped in this process ("uzswap-arena" in
 * /proc/self/maps), or 0. */
static unsigned long arena_inode(void)
{
	char line[512];
	unsigned long ino = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "uzswap-arena") &&
		    sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1)
			break;
	if (f)
		fclose(f);
	return ino;
}

/* Is @ino mapped, or open in any thread's table? */
static int holds(unsigned long ino)
{
	char line[512], path[600];
	struct dirent *t, *e;
	struct stat st;
	DIR *tasks, *fds;
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long i;
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %lu", &i) == 1 && i == ino)
			found = 1;
	if (f)
		fclose(f);
	tasks = opendir("/proc/self/task");
	while (tasks && (t = readdir(tasks)) && !found) {
		if (t->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/fd", t->d_name);
		fds = opendir(path);
		while (fds && (e = readdir(fds)))
			if (e->d_name[0] != '.') {
				snprintf(path, sizeof(path), "/proc/self/task/%s/fd/%s",
					 t->d_name, e->d_name);
				if (!stat(path, &st) && st.st_ino == ino)
					found = 1;
			}
		if (fds)
			closedir(fds);
	}
	if (tasks)
		closedir(tasks);
	return found;
}

int main(int argc, char **argv)
{
	unsigned long ino;
	uint8_t *m;
	pid_t c;
	int st;

	it_setup(argc, argv);
	alarm(120);
	if (geteuid()) {
		printf("SKIP: needs root (the child drops to uid 65534)\n");
		return 77;
	}
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 51);
	it_evict_all();
	ino = arena_inode();
	it_assert(ino, "no arena mapped");
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		if (!holds(ino))
			_exit(2); /* the test would prove nothing */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		if (holds(ino))
			_exit(4);
		if (it_check(m, LEN, 51) >= 0)
			_exit(5);
		_exit(0);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2,
		  "the child did not share the arena to begin with");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 3, "setresuid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 4, "after dropping "
		  "root the child still maps or holds its parent's arena");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "the child read wrong bytes (status %#x)", st);
	it_assert(it_check(m, LEN, 51) < 0, "the parent reads wrong bytes");
	it_evict_all();
	it_assert(it_check(m, LEN, 51) < 0, "the parent reads wrong bytes after");
	printf("a child that dropped root holds none of its parent's arena; "
	       "bytes right\n");
	return 0;
}
