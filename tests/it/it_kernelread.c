/* SPDX-License-Identifier: MIT */
/* System calls that read into or write from evicted memory work, for
 * root and for an unprivileged process (uid 65534). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)

static void run(const char *who)
{
	char path[] = "/tmp/uzswap-kread.XXXXXX";
	uint8_t *dst = it_alloc(LEN, 1), *src = it_alloc(LEN, 1);
	int fd = mkstemp(path);
	size_t done = 0;
	ssize_t n;

	it_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	it_fill(src, LEN, 31);
	memset(dst, 0x5a, LEN);
	it_evict_all();
	/* write(2) copies from evicted memory inside the kernel */
	while (done < LEN) {
		n = pwrite(fd, src + done, LEN - done, done);
		it_assert(n > 0, "%s: pwrite from evicted memory: %s", who,
			  strerror(errno));
		done += n;
	}
	/* read(2) copies into evicted memory inside the kernel */
	for (done = 0; done < LEN;) {
		n = pread(fd, dst + done, LEN - done, done);
		it_assert(n > 0, "%s: pread into evicted memory: %s", who,
			  strerror(errno));
		done += n;
	}
	it_assert(it_check(dst, LEN, 31) < 0, "%s: data read back differs", who);
	close(fd);
	printf("%s: read(2)/write(2) on evicted memory ok\n", who);
}

int main(int argc, char **argv)
{
	pid_t c;
	int st;

	it_setup(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "unprivileged")) {
		run("uid 65534");
		return 0;
	}
	run("root");
	if (getuid() != 0)
		return 0;
	c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(99);
		execl("/proc/self/exe", argv[0], "unprivileged", (char *)NULL);
		_exit(errno == EACCES ? 77 : 99);
	}
	waitpid(c, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("SKIP part: uid 65534 cannot execute %s\n", argv[0]);
		return 0;
	}
	it_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "unprivileged run failed (status %#x)", st);
	return 0;
}
