/* SPDX-License-Identifier: MIT */
/*
 * A program that closes "all" its descriptors (close_range(3, ~0U) and
 * closefrom(3), as Python's subprocess, daemons and spawners do, often
 * in a forked child just before exec) must not close the agent's: the
 * userfaultfd's last reference going would drop every registration and
 * evicted memory would read as zeros.  Its own descriptors, low and
 * high, must still be closed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)

/* Open the application's own descriptors: a low one and a high one. */
static void open_own(int *low, int *high)
{
	*low = open("/dev/null", O_RDONLY);
	*high = fcntl(*low, F_DUPFD, 3000);
	it_assert(*low >= 3 && *high >= 3000, "cannot open test descriptors");
}

static int closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0;
}

int main(int argc, char **argv)
{
	uint8_t *m;
	int low, high, st;
	pid_t c;

	it_setup(argc, argv);
	alarm(120);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 5);

	/* in a forked child, the way subprocess does it */
	it_evict_all();
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		open_own(&low, &high);
		if (close_range(3, ~0U, 0))
			_exit(3);
		if (!closed(low) || !closed(high))
			_exit(2);
		_exit(it_check(m, LEN, 5) < 0 ? 0 : 1);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 3, "close_range failed");
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2,
		  "close_range left the child's own descriptors open");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "after close_range(3, ~0U) "
		  "the child read wrong bytes (status %#x)", st);

	/* and in the process itself, twice */
	open_own(&low, &high);
	it_assert(!close_range(3, ~0U, 0), "close_range failed");
	it_assert(closed(low) && closed(high), "close_range left our own descriptors open");
	it_assert(it_check(m, LEN, 5) < 0, "after close_range(3, ~0U) wrong bytes at %ld",
		  it_check(m, LEN, 5));
	it_evict_all();
	open_own(&low, &high);
	closefrom(3);
	it_assert(closed(low) && closed(high), "closefrom left our own descriptors open");
	it_assert(it_check(m, LEN, 5) < 0, "after closefrom(3) wrong bytes at %ld",
		  it_check(m, LEN, 5));
	/* the agent still works: evict and read once more */
	it_evict_all();
	it_assert(it_stat("evicted_bytes") > 0, "nothing evicted after closefrom");
	it_assert(it_check(m, LEN, 5) < 0, "wrong bytes after closefrom and eviction");
	printf("close_range(3, ~0U) and closefrom(3): every byte right, own descriptors closed\n");
	return 0;
}
