/* SPDX-License-Identifier: MIT */
/*
 * The program it_lazystart.sh runs under the agent, which starts late
 * (lazy.c).  Prints what it is asked for on standard output, a line
 * each, then sleeps until killed:
 *   lazy_probe wait        its threads now
 *   lazy_probe map MB      MB of anonymous memory by mmap(), written
 *   lazy_probe api         uzswap_active() and how long it took, in ms
 *   lazy_probe unshare     unshare(CLONE_NEWUSER) in its first second
 *   lazy_probe fork        fork() in its first second: the child's pid
 * Each prints its pid first.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "wait";

	printf("pid %d\n", (int)getpid());
	if (!strcmp(mode, "wait")) {
		printf("threads %d\n", threads());
	} else if (!strcmp(mode, "map") && argc > 2) {
		size_t len = strtoul(argv[2], NULL, 10) << 20;
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			printf("mmap: %s\n", strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < len; i += 4096)
			p[i] = (unsigned char)(i >> 12);
		printf("mapped %zu\n", len);
	} else if (!strcmp(mode, "api")) {
		/* the preloaded agent's: not linked, or it would load twice */
		int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "uzswap_active");
		double t0 = now_ms();
		int a = active ? active() : -1;

		printf("active %d in %.0f ms\n", a, now_ms() - t0);
	} else if (!strcmp(mode, "unshare")) {
		if (unshare(CLONE_NEWUSER))
			printf("unshare: %s\n", strerror(errno));
		else
			printf("unshare: ok\n");
	} else if (!strcmp(mode, "fork")) {
		pid_t pid = fork();

		if (pid < 0) {
			printf("fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			for (;;)
				pause();
		}
		printf("child %d\n", (int)pid);
	} else {
		fprintf(stderr, "usage: lazy_probe wait|map MB|api|unshare|fork\n");
		return 2;
	}
	fflush(stdout);
	for (;;)
		pause();
}
