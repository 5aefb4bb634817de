/* SPDX-License-Identifier: MIT */
/*
 * A process whose threads call into the agent stops as a whole on
 * SIGSTOP (a shell's Ctrl-Z, a debugger attaching, a cgroup freeze): no
 * thread of it may sit in the kernel waiting on the agent thread, which
 * stops too.  A wake-up that waited until the agent thread had read it
 * left the caller in an uninterruptible sleep about half the time.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define ROUNDS 30

static uint8_t *mem;
static int (*unregister)(void *addr, size_t len);

/* Requests to the agent thread, as fast as they come back (the API of
 * the preloaded agent: this program does not link it). */
static void *caller(void *arg)
{
	for (;;)
		unregister(mem, LEN);
	return arg;
}

/* Threads of @pid not stopped (state other than T/t), or -1. */
static int running_threads(pid_t pid)
{
	char path[64], buf[512];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		f = fopen(buf, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    p[2] != 'T' && p[2] != 't')
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int round, waited, left, st;
	pid_t child;

	it_setup(argc, argv);
	alarm(120);
	unregister = (int (*)(void *, size_t))dlsym(RTLD_DEFAULT, "uzswap_unregister");
	it_assert(unregister, "the agent's uzswap_unregister is not there");
	mem = it_alloc(LEN, 1);
	it_fill(mem, LEN, 31);
	it_evict_all();
	child = fork();
	it_assert(child >= 0, "fork failed");
	if (!child) {
		pthread_t t[3];

		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, caller, NULL);
		pause();
		_exit(0);
	}
	usleep(200000);
	for (round = 0; round < ROUNDS; round++) {
		kill(child, SIGSTOP);
		for (waited = 0; waited < 200 &&
				 (left = running_threads(child)) != 0; waited++)
			usleep(10000);
		it_assert(left == 0, "round %d: %d thread(s) of a SIGSTOPped "
			  "process did not stop in 2 s", round, left);
		kill(child, SIGCONT);
		usleep(20000);
	}
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	it_assert(it_check(mem, LEN, 31) < 0, "wrong bytes");
	printf("%d SIGSTOPs of a process calling into the agent: every "
	       "thread stopped each time\n", ROUNDS);
	return 0;
}
