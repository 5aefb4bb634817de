/* SPDX-License-Identifier: MIT */
/*
 * Calls the kernel allows only to a process of one thread work under the
 * agent when the program has one thread: unshare(CLONE_NEWUSER) (unshare
 * -U, -r; bwrap) and setns() into a mount namespace (nsenter -m) gave
 * EINVAL, the agent's threads counting.  The agent steps aside (brings
 * everything back, its threads end), the call is made, and a new agent
 * starts: every byte is right before and after, and memory can be
 * evicted again.  A program with a thread of its own still gets EINVAL,
 * as it would without the agent, and keeps its agent.  So does a program
 * that makes the call as it starts, while its agent's threads have not
 * yet said who they are (each of them slowed down here, as the staging
 * filler, at SCHED_IDLE, was on a busy machine: EINVAL, it_stress seed
 * 948 at load 11-14).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (16 * IT_MB)
/* how long each agent thread of the late-starting agent waits before it
 * says who it is: more than the step-aside's first wait once was */
#define SLOW_START_MS "1500"

/* Threads of this process, from /proc/self/status. */
static int threads(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int n = -1;

	it_assert(f, "cannot read /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			n = atoi(line + 8);
	fclose(f);
	return n;
}

/* Run @fn in a forked child; its exit status. */
static int in_child(int (*fn)(uint8_t *), uint8_t *m)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork failed");
	if (!c)
		_exit(fn(m));
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st), "child killed (status %#x)", st);
	return WEXITSTATUS(st);
}

/* unshare(CLONE_NEWUSER) with the agent's threads here (@when for the
 * message): 0 ok, 77 user namespaces not allowed here, 10 no agent
 * threads (the test would prove nothing), 2 the call failed. */
static int unshare_under_agent(const char *when)
{
	if (threads() < 2)
		return 10;
	if (unshare(CLONE_NEWUSER)) {
		if (errno == EPERM || errno == ENOSPC || errno == EACCES)
			return 77;
		fprintf(stderr, "unshare(CLONE_NEWUSER)%s: %s\n", when,
			strerror(errno));
		return 2;
	}
	return 0;
}

/* 0 ok, 77 user namespaces not allowed here, else a failure code. */
static int new_userns(uint8_t *m)
{
	int r = unshare_under_agent("");

	if (r)
		return r;
	if (it_check(m, LEN, 21) >= 0)
		return 3;
	if (threads() < 2)
		return 4; /* no agent came back */
	/* the new agent works: evict again, read back again */
	it_evict_all();
	if (!it_stat("evicted_bytes"))
		return 5;
	if (it_check(m, LEN, 21) >= 0)
		return 6;
	return 0;
}

/* Mappings of this process (/proc/self/maps lines). */
static int vmas(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n;
}

/* Stepping aside again and again: every time evicted, bytes right, an
 * agent back, and nothing of the old agents left (the address space
 * and the table of excluded ranges once filled up after 15 rounds). */
#define ASIDE_ROUNDS 40
static int own_mntns(uint8_t *m)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), i, v0 = 0;

	if (fd < 0)
		return 77;
	for (i = 0; i < ASIDE_ROUNDS; i++) {
		it_evict_all();
		if (setns(fd, CLONE_NEWNS)) {
			if (errno == EPERM)
				return 77;
			fprintf(stderr, "setns(mnt) round %d: %s\n", i, strerror(errno));
			return 2;
		}
		if (it_check(m, LEN, 21) >= 0)
			return 3;
		if (threads() < 2)
			return 4;
		if (i == 1)
			v0 = vmas();
	}
	close(fd);
#ifdef __SANITIZE_THREAD__
	/* its runtime keeps memory of each thread that ended */
	printf("ThreadSanitizer: mappings left behind not counted\n");
	return 0;
#endif
	if (vmas() > v0 + 8) {
		fprintf(stderr, "%d mappings after %d rounds, %d after 2\n",
			vmas(), ASIDE_ROUNDS, v0);
		return 5;
	}
	return 0;
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

/* A program with a thread of its own: EINVAL, and its agent stays. */
static int threaded(uint8_t *m)
{
	pthread_t t;
	int before;

	pthread_create(&t, NULL, idle_thread, NULL);
	before = threads();
	if (!unshare(CLONE_NEWUSER))
		return 2;
	if (errno != EINVAL)
		return errno == EPERM || errno == ENOSPC ? 77 : 3;
	if (threads() != before)
		return 4;
	return it_check(m, LEN, 21) < 0 ? 0 : 5;
}

/* The program of the process slow_start() runs: the call first of all,
 * as soon as main() runs; 0 ok, 77 not allowed here, else a failure. */
static int unshare_at_start(void)
{
	int r = unshare_under_agent(" at start");

	if (r)
		return r;
	return threads() < 2 ? 4 : 0;
}

/* This program again, under a new agent whose threads are slow to say
 * who they are, making the call at once. */
static int slow_start(const char *self)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork failed");
	if (!c) {
		setenv("UZSWAP_TEST_LIFELINE_GAP_MS", SLOW_START_MS, 1);
		execl("/proc/self/exe", self, "--unshare-at-start", (char *)NULL);
		_exit(99);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFEXITED(st), "child killed (status %#x)", st);
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	uint8_t *m;
	int r;

	if (argc > 1 && !strcmp(argv[1], "--unshare-at-start"))
		return unshare_at_start();
	it_setup(argc, argv);
	alarm(120);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 21);
	it_evict_all();

	r = in_child(new_userns, m);
	if (r == 77) {
		printf("SKIP: user namespaces are not allowed here\n");
		return 77;
	}
	it_assert(r == 0, "unshare(CLONE_NEWUSER) with evicted memory: "
		  "failure %d (2: the call failed, 3/6: wrong bytes, 4: no "
		  "agent after, 5: nothing evicted after)", r);
	printf("unshare(CLONE_NEWUSER): the call works, bytes right, agent back\n");
	r = slow_start(argv[0]);
	it_assert(r == 0 || r == 77, "unshare(CLONE_NEWUSER) as a program "
		  "starts, its agent's threads slow to say who they are: "
		  "failure %d (2: the call failed, 4: no agent after, 10: no "
		  "agent, 99: exec failed)", r);
	printf("unshare(CLONE_NEWUSER) as a program starts, its agent not "
	       "ready: the call works\n");

	r = in_child(own_mntns, m);
	if (r == 77)
		printf("setns(mnt): not permitted here; part skipped\n");
	else
		it_assert(r == 0, "setns() into a mount namespace: failure %d (2: "
			  "the call failed, 3: wrong bytes, 4: no agent after, 5: "
			  "mappings left behind)", r);
	if (!r)
		printf("setns(CLONE_NEWNS) %d times with memory evicted: bytes "
		       "right, an agent back each time, no mapping left "
		       "behind\n", ASIDE_ROUNDS);

	r = in_child(threaded, m);
	if (r != 77)
		it_assert(r == 0, "a threaded program's unshare(CLONE_NEWUSER): "
			  "failure %d (2: it worked, 3: not EINVAL, 4: agent "
			  "gone, 5: wrong bytes)", r);
	printf("a program with a thread of its own: EINVAL, agent kept\n");
	it_assert(it_check(m, LEN, 21) < 0, "the parent reads wrong bytes");
	return 0;
}
