/* SPDX-License-Identifier: MIT */
/*
 * An eviction that starts with the memory cgroup at its very limit.
 * A job fills its cgroup to within 128 KB of the limit while the daemon
 * is stopped (as a busy machine or a fast job leaves it: it_memhold's
 * job was OOM-killed so in CI), then the daemon goes on and its limit
 * step takes memory out.  No kernel swap: every page the agent takes
 * before it frees one is a page the kernel cannot find.  The agent
 * encoded each block into a buffer faulted in at its first eviction and
 * wrote the payload before it freed the block's pages; the kernel's
 * report named the agent's pwrite into its pool.  Now the buffers are
 * resident once the daemon says the cgroup has a limit, and a block's
 * pages go before its payload is written.  The job must not be killed
 * and must read back every byte.  Again after the job evicted some and
 * forked an idle child: the buffers and codecs were then the parent's
 * pages shared copy-on-write, copied by the first encode (review probe
 * pA_forkcow).  The daemon is stopped before that fork, so the child's
 * agent hears of the limit only with the cgroup at it: it made its own
 * buffers resident there (2.4 MB on lz4, 3.6 MB on zstd), and the OOM
 * killer took the job (CI, 2026-12-05, when the child's first step came
 * late by chance).  it_zstd.sh runs it on zstd, whose codecs' state
 * (1.45 MB for the two at level 3) was faulted in by the first encode
 * too.  Root and the
 * cgroup v1 memory controller.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define V1 IT_MEMCG_V1
#define LIMIT (64 * IT_MB)
#define AREA (96 * IT_MB)
#define MARGIN (128 * 1024)

static char cg[256];

/* (a job's exit runs it too: it_memcg_remove leaves it be there) */
static void cg_remove(void)
{
	if (cg[0] && it_memcg_remove(cg))
		fprintf(stderr, "it_atlimit: could not remove %s: %s\n", cg,
			strerror(errno));
}

static uint64_t usage(void)
{
	char path[300], v[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", cg);
	f = fopen(path, "r");
	it_assert(f, "open %s: %s", path, strerror(errno));
	if (!fgets(v, sizeof(v), f))
		v[0] = 0;
	fclose(f);
	return strtoull(v, NULL, 10);
}

/* Half of each page random, half zero: a block encodes to about 1 MB,
 * more than the room left, and frees about as much again. */
static uint64_t word_at(size_t w)
{
	uint64_t x = w * 0x9e3779b97f4a7c15ull;

	if ((w % 512) >= 256)
		return 0;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

/* How many steps the daemon said it made on client @pid. */
static unsigned steps_on(pid_t pid)
{
	char who[64];

	snprintf(who, sizeof(who), "client %d (", (int)pid);
	return it_log_count(who, "automatic step: ");
}

static void say(int fd, char c)
{
	it_assert(write(fd, &c, 1) == 1, "pipe write: %s", strerror(errno));
}

/* The next word on @fd, 0 when the other side has ended. */
static char hear(int fd)
{
	char c = 0;

	return read(fd, &c, 1) == 1 ? c : 0;
}

/* The job: filled to the limit less MARGIN, then (once the daemon has
 * had its go) every byte read back. */
/* With @forked: first 4 MB evicted, then an idle child forked (it
 * shares the arena, and would share the agent's buffers and codecs
 * copy-on-write: review probe pA_forkcow, killed 4 of 4). */
static void job(int up, int down, int forked)
{
	uint64_t *m;
	size_t w, words = 0;
	int full = 0;

	it_cgroup_join(cg); /* the daemon looks at us there: a limit */
	if (forked) {
		uint64_t *e = it_alloc(4 * IT_MB, 1);
		int idle[2];
		pid_t k;

		for (w = 0; w < 4 * IT_MB / 8; w++)
			e[w] = word_at(w);
		it_evict_all();
		/* the daemon is stopped before the fork: the child's agent
		 * hears of the limit only once the job is at it */
		say(up, 'e');
		it_assert(hear(down) == 's', "no go from the test");
		it_assert(!pipe(idle), "pipe: %s", strerror(errno));
		k = fork();
		it_assert(k >= 0, "fork failed");
		if (!k) {
			char x;

			close(idle[1]);
			while (read(idle[0], &x, 1) > 0)
				; /* until the job ends */
			_exit(0);
		}
		close(idle[0]);
		usleep(500000);
	}
	m = it_alloc(AREA, 1);
	say(up, 'j');
	it_assert(hear(down) == 'f', "no go from the test");
	/* (the usage read is a batch of pages behind at times: it is the
	 * condition, not a figure to check again) */
	for (size_t pg = 0; pg < AREA / 4096 && !full; pg++) {
		for (w = pg * 512; w < (pg + 1) * 512; w++, words++)
			m[w] = word_at(w);
		full = usage() >= LIMIT - MARGIN;
	}
	it_assert(full, "filled %zu MB and the cgroup is at %llu of %llu "
		  "bytes", words * 8 >> 20, (unsigned long long)usage(),
		  (unsigned long long)LIMIT);
	say(up, 'l');
	it_assert(hear(down) == 'c', "no go from the test");
	for (w = 0; w < words; w++)
		it_assert(m[w] == word_at(w), "wrong byte in word %zu", w);
	_exit(0);
}

/* One job, filled to the limit less MARGIN with the daemon stopped,
 * then its limit step, then every byte read back. */
static void round_at_limit(int forked)
{
	int up[2], down[2], st;
	unsigned steps;
	pid_t c, d;

	if (it_memcg_remove(cg))
		it_fail("rmdir %s: %s", cg, strerror(errno));
	it_memcg_make(cg, LIMIT);
	it_assert(!pipe(up) && !pipe(down), "pipe: %s", strerror(errno));
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		close(up[0]);
		close(down[1]);
		job(up[1], down[0], forked);
	}
	/* a job that fails is heard as the end of the pipe */
	close(up[1]);
	close(down[0]);
	d = atoi(getenv("IT_DAEMON_PID"));
	if (forked) {
		it_assert(hear(up[0]) == 'e', "the job did not evict");
		it_assert(!kill(d, SIGSTOP), "SIGSTOP the daemon: %s",
			  strerror(errno));
		say(down[1], 's');
	}
	it_assert(hear(up[0]) == 'j', "the job did not start");
	/* stopped, the daemon takes nothing as the job fills */
	it_assert(!kill(d, SIGSTOP), "SIGSTOP the daemon: %s", strerror(errno));
	say(down[1], 'f');
	st = hear(up[0]);
	/* (a step made before the fill is not the one tested) */
	steps = steps_on(c);
	kill(d, SIGCONT);
	it_assert(st == 'l', "the job did not fill its cgroup");
	/* its limit step, at the limit, then more as the job reads back */
	for (int i = 0; i < 50 && steps_on(c) == steps; i++)
		usleep(100000);
	it_assert(steps_on(c) > steps || waitpid(c, &st, WNOHANG) == c,
		  "the daemon made no step on the job in 5 s");
	if (steps_on(c) > steps) {
		sleep(1);
		/* a job killed meanwhile is said so below, not by SIGPIPE */
		if (waitpid(c, &st, WNOHANG) == 0) {
			say(down[1], 'c');
			it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
		}
	}
	it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL), "the job was "
		  "killed (the OOM killer, in a %lu MB cgroup at its limit)%s",
		  LIMIT >> 20, forked ? ", after a fork" : "");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the job failed (status "
		  "%#x)", st);
	close(up[0]);
	close(down[1]);
}

int main(int argc, char **argv)
{
	it_need_memcg_v1();
	it_setup_config(argc, argv, IT_CONFIG_LIMIT_STEPS);
	it_timeout(150);
	/* a job that ended is found by waitpid: a write to it fails */
	signal(SIGPIPE, SIG_IGN);
	snprintf(cg, sizeof(cg), V1 "/uzswap-atlimit-%d", getpid());
	atexit(cg_remove);
	for (int forked = 0; forked < 2; forked++)
		round_at_limit(forked);
	printf("a job filled to %lu KB under its %lu MB limit, its memory "
	       "taken out there and read back, as it is and after an "
	       "eviction and a fork: not killed, every byte right\n",
	       (unsigned long)(MARGIN >> 10), LIMIT >> 20);
	return 0;
}
