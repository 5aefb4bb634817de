/* SPDX-License-Identifier: MIT */
/*
 * The gate between the program's dup2()/dup3() and the agent's
 * check-then-close of its own descriptors in the program's table
 * (fds.c), tried the ways a review found it hanging or killing programs
 * (2026-12-02, probes kept in this file):
 *
 *   jump     a handler siglongjmp()s out of a dup2() onto a high number:
 *            the gate stayed held, every later dup2() and fork() spun
 *   sigfork  a handler fork()s in a thread inside dup2() while another
 *            thread forks: deadlock
 *   cancel   threads in a dup2() loop cancelled asynchronously
 *   linger   a dup2() replacing a socket whose close lingers 3 s at a
 *            high number: an unrelated dup2() and a fork() spun at 100%
 *            CPU meanwhile
 *   shared   (it_dupgate shared) unshare() refused by a seccomp filter,
 *            so the agent thread shares the program's table: the first
 *            fork killed the program with signal 32 (the agent's doorbell
 *            unblocked by glibc's pthread_sigmask), and the agent thread,
 *            closing a link, waited for a lingering dup2() while faults
 *            waited for it
 *
 * A watchdog (alarm) fails a hang.  The high numbers are at and above 900,
 * where the agent's descriptors pass (fd_hide).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define LEN (4 * IT_MB)
#define HIGH 950 /* a number the gate covers */

static uint8_t *mem;
static int devnull, stop;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* fork() a child that checks the evicted memory; fails on a wrong byte */
static void fork_checks(const char *what)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "%s: fork: %s", what, strerror(errno));
	if (!c)
		_exit(it_check(mem, LEN, 7) < 0 ? 0 : 1);
	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "%s: the child read wrong bytes (status %#x)", what, st);
}

/* A connected TCP socket with unsent data and SO_LINGER of @secs: its
 * close waits that long. */
static int lingering_socket(int secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct linger lg = { 1, secs };
	static char buf[65536];
	int lst, s, small = 4096;

	lst = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lst, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	it_assert(!bind(lst, (void *)&sa, sizeof(sa)) &&
		  !getsockname(lst, (void *)&sa, &sl) && !listen(lst, 1),
		  "listen: %s", strerror(errno));
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	it_assert(!connect(s, (void *)&sa, sizeof(sa)), "connect: %s", strerror(errno));
	fcntl(s, F_SETFL, O_NONBLOCK);
	while (write(s, buf, sizeof(buf)) > 0)
		;
	fcntl(s, F_SETFL, 0);
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return s;
}

/* --- jump ---------------------------------------------------------- */
static sigjmp_buf jump_buf;
static long jumps;
static int jump_ready;

static void jump_out(int sig)
{
	(void)sig;
	siglongjmp(jump_buf, 1);
}

static void *jumper(void *arg)
{
	if (sigsetjmp(jump_buf, 1))
		jumps++;
	__atomic_store_n(&jump_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		dup2(devnull, HIGH);
	return arg;
}

static void jump(void)
{
	pthread_t t;

	signal(SIGUSR1, jump_out);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, jumper, NULL);
	while (!__atomic_load_n(&jump_ready, __ATOMIC_ACQUIRE))
		usleep(100);
	for (int i = 0; i < 2000; i++) {
		pthread_kill(t, SIGUSR1);
		usleep(100);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	it_assert(dup2(devnull, HIGH + 1) == HIGH + 1, "dup2: %s", strerror(errno));
	fork_checks("jump");
	close(HIGH);
	close(HIGH + 1);
	printf("jump: %ld siglongjmp()s out of dup2(); dup2() and fork() after\n", jumps);
}

/* --- sigfork ------------------------------------------------------- */
static long handler_forks, thread_forks;

static void fork_in_handler(int sig)
{
	int e = errno;
	pid_t c = fork();

	(void)sig;
	if (!c)
		_exit(0);
	if (c > 0 && waitpid(c, NULL, 0) == c)
		handler_forks++;
	errno = e;
}

static void *duper(void *arg)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		dup2(devnull, HIGH);
	return arg;
}

static void *forker(void *arg)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pid_t c = fork();

		if (!c)
			_exit(0);
		if (c > 0 && waitpid(c, NULL, 0) == c)
			thread_forks++;
	}
	return arg;
}

static void sigfork(void)
{
	pthread_t a, b;
	double t0 = now_s();

	signal(SIGUSR1, fork_in_handler);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&a, NULL, duper, NULL);
	pthread_create(&b, NULL, forker, NULL);
	while (now_s() - t0 < 5) {
		pthread_kill(a, SIGUSR1);
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	close(HIGH);
	printf("sigfork: %ld forks in a handler inside dup2(), %ld in a thread\n",
	       handler_forks, thread_forks);
}

/* --- cancel -------------------------------------------------------- */
static void *async_duper(void *arg)
{
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	for (;;)
		dup2(devnull, HIGH);
	return arg;
}

static void cancel(void)
{
	int n;

	for (n = 0; n < 100; n++) {
		pthread_t t;

		pthread_create(&t, NULL, async_duper, NULL);
		usleep(500);
		pthread_cancel(t);
		pthread_join(t, NULL);
		it_assert(dup2(devnull, HIGH + 2) == HIGH + 2, "dup2: %s",
			  strerror(errno));
	}
	fork_checks("cancel");
	close(HIGH);
	close(HIGH + 2);
	printf("cancel: %d threads cancelled inside dup2() loops\n", n);
}

/* --- linger -------------------------------------------------------- */
static double linger_took;

static void *linger_dup2(void *arg)
{
	double t0 = now_s();

	dup2(devnull, HIGH);
	linger_took = now_s() - t0;
	return arg;
}

static void linger(void)
{
	int s = lingering_socket(3);
	double c0, t0, dup_took, fork_took;
	pthread_t a;

	it_assert(dup2(s, HIGH) == HIGH, "dup2: %s", strerror(errno));
	close(s);
	pthread_create(&a, NULL, linger_dup2, NULL);
	usleep(200000); /* inside dup2(), in the kernel's close */
	c0 = cpu_s();
	t0 = now_s();
	it_assert(dup2(devnull, 600) == 600, "dup2: %s", strerror(errno));
	dup_took = now_s() - t0;
	t0 = now_s();
	fork_checks("linger");
	fork_took = now_s() - t0;
	pthread_join(a, NULL);
	close(600);
	close(HIGH);
	it_assert(dup_took < 0.5, "an unrelated dup2() waited %.2f s for a "
		  "lingering one", dup_took);
	it_assert(cpu_s() - c0 < 1.0, "%.2f s of CPU burnt waiting for a "
		  "lingering dup2()", cpu_s() - c0);
	printf("linger: dup2() closing a lingering socket took %.1f s; "
	       "meanwhile another dup2() %.3f s, a fork() %.2f s\n",
	       linger_took, dup_took, fork_took);
}

/* --- shared -------------------------------------------------------- */
static void refuse_unshare(void)
{
	static const int nr[] = { SYS_unshare };

	it_refuse_syscalls(nr, 1);
}

/* Descriptors at 900 and up in our table, where the agent keeps its
 * own when it shares the program's. */
static int high_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	it_assert(d, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		n += atoi(e->d_name) >= 900 && atoi(e->d_name) != dirfd(d);
	closedir(d);
	return n;
}

/* Generation @gen of a chain of forks, each with its memory evicted
 * before the next: every one reads its bytes right and holds no more of
 * the agent's descriptors than the first (@first).  Each child's copy of
 * its parent's agent descriptors used to stay: a set more a generation.
 * A child's status: 0, or 1 + the generation that failed. */
static int generation(int gen, int first)
{
	int st, n = high_fds();
	pid_t c;

	if (it_check(mem, LEN, 7) >= 0) {
		fprintf(stderr, "generation %d: wrong bytes\n", gen);
		return 1 + gen;
	}
	/* a few the agent thread may open later than the others */
	if (n > first + 3) {
		fprintf(stderr, "generation %d: %d descriptors at 900 and up, "
			"%d in the first\n", gen, n, first);
		return 1 + gen;
	}
	if (gen == 3)
		return 0;
	it_evict_all();
	c = fork();
	if (c < 0)
		return 1 + gen;
	if (!c)
		_exit(generation(gen + 1, first));
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return 1 + gen;
	return WEXITSTATUS(st);
}

static void shared(void)
{
	pthread_t a;
	double t0, read_took;
	long sum = 0;
	int s;
	pid_t c;

	for (int i = 0; i < 5; i++) {
		it_evict_all();
		fork_checks("shared table");
	}
	printf("shared table: 5 forks with evicted memory\n");
	{
		int first = high_fds(), failed = generation(0, first);

		it_assert(!failed, "shared table: generation %d of a chain of "
			  "forks went wrong (above)", failed - 1);
		printf("shared table: 3 generations of forks, evicted each "
		       "time: right bytes, %d descriptors at 900 and up in "
		       "each at most\n", first + 3);
	}
	/* a child that ends while a dup2() lingers: the agent thread closes
	 * its link, and must not wait for that dup2() */
	it_evict_all();
	c = fork();
	if (!c) {
		usleep(300000);
		_exit(0);
	}
	s = lingering_socket(3);
	it_assert(dup2(s, HIGH) == HIGH, "dup2: %s", strerror(errno));
	close(s);
	pthread_create(&a, NULL, linger_dup2, NULL);
	usleep(800000); /* the child ended meanwhile */
	t0 = now_s();
	for (size_t o = 0; o < LEN; o += 4096)
		sum += mem[o];
	read_took = now_s() - t0;
	pthread_join(a, NULL);
	waitpid(c, NULL, 0);
	it_assert(it_check(mem, LEN, 7) < 0, "shared table: wrong bytes");
	it_assert(read_took < 1.0, "shared table: reading evicted memory waited "
		  "%.2f s for a lingering dup2()", read_took);
	printf("shared table: evicted memory read in %.3f s while a dup2() "
	       "lingered %.1f s (sum %ld)\n", read_took, linger_took, sum);
}

/* The shared case first, in a process of its own (the filter stays). */
/* --- forkdup ------------------------------------------------------ */
/* A dup2() of another thread onto one of the agent's numbers lands as
 * fork() copies the table, its mark not yet cleared (the agent held
 * between dup3 and the mark, UZSWAP_TEST_DUP_DELAY_MS, and the fork after
 * its prepare hook, UZSWAP_TEST_FORK_FREEZE_MS, both set by main): the
 * child, closing its parent's agent descriptors, must keep the
 * program's file there.  It closed it, and its agent opened its own
 * pagemap on that number (a review's probe). */
static int dup_target = -1, dup_mine = -1;

static void *late_dup2(void *arg)
{
	(void)arg;
	usleep(200000); /* the fork's prepare hook is past the gate */
	if (dup2(dup_mine, dup_target) < 0)
		perror("dup2");
	return NULL;
}

static void forkdup(void)
{
	char path[320], link[256];
	struct stat a, b;
	struct dirent *e;
	pthread_t t;
	DIR *d = opendir("/proc/self/fd");
	int st;
	pid_t c;

	it_assert(d, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0 || atoi(e->d_name) < 900)
			continue;
		link[n] = 0;
		if (strstr(link, "/pagemap") && dup_target < 0)
			dup_target = atoi(e->d_name);
	}
	closedir(d);
	it_assert(dup_target >= 0, "no agent pagemap descriptor at 900 and up "
		  "(is the table shared?)");
	dup_mine = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	it_assert(dup_mine >= 0 && !fstat(dup_mine, &a), "/etc/hostname: %s",
		  strerror(errno));
	pthread_create(&t, NULL, late_dup2, NULL);
	c = fork();
	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (!c) {
		int kept = !fstat(dup_target, &b) && b.st_ino == a.st_ino &&
			   b.st_dev == a.st_dev;

		if (!kept)
			fprintf(stderr, "child: descriptor %d is no longer the "
				"program's file\n", dup_target);
		_exit(kept && it_check(mem, LEN, 7) < 0 ? 0 : 1);
	}
	it_assert(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
		  "forkdup: the child lost the program's descriptor %d, or read "
		  "wrong bytes (status %#x)", dup_target, st);
	pthread_join(t, NULL);
	it_assert(!fstat(dup_target, &b) && b.st_ino == a.st_ino,
		  "forkdup: the parent's descriptor %d is not the program's file",
		  dup_target);
	it_assert(it_check(mem, LEN, 7) < 0, "forkdup: wrong bytes");
	printf("forkdup: a dup2() onto the agent's descriptor %d landing as "
	       "fork() copied the table: the child kept the program's file\n",
	       dup_target);
}

/* The cases that need the agent to share our table each run on their
 * own (it_run_mode: the filter is for good) */
int main(int argc, char **argv)
{
	int in_shared = argc > 1 && !strcmp(argv[1], "shared");
	int in_forkdup = argc > 1 && !strcmp(argv[1], "forkdup");

	if (!getenv("IT_UNDER_AGENT")) {
		/* before the agent starts: its thread then shares our table */
		if (in_shared || in_forkdup) {
			refuse_unshare();
		} else {
			it_run_mode(argv, "shared");
			it_run_mode(argv, "forkdup");
		}
		if (in_forkdup) {
			setenv("UZSWAP_TEST_DUP_DELAY_MS", "1500", 1);
			setenv("UZSWAP_TEST_FORK_FREEZE_MS", "800", 1);
		}
	}
	it_setup(argc, argv);
	alarm(120);
	mem = it_alloc(LEN, 0);
	it_fill(mem, LEN, 7);
	it_evict_all();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	it_assert(devnull >= 0, "/dev/null: %s", strerror(errno));
	if (in_shared) {
		shared();
		return 0;
	}
	if (in_forkdup) {
		forkdup();
		return 0;
	}
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer defers signals to its own safe points and cannot
	 * follow a fork() in a handler while another thread forks: these
	 * cases hung inside its runtime (make check-tsan) */
	printf("ThreadSanitizer build: no jump, sigfork or cancel case\n");
	(void)jump;
	(void)sigfork;
	(void)cancel;
#else
	jump();
	sigfork();
	cancel();
#endif
	linger();
	it_assert(it_check(mem, LEN, 7) < 0, "wrong bytes at the end");
	return 0;
}
