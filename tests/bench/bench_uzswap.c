/* SPDX-License-Identifier: MIT */
/*
 * uzswap, as bench.sh runs it: this process under the agent (LD_PRELOAD,
 * UZSWAP_SOCKET), a private uzswapd, and uzswapctl for eviction and stats.
 */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/*
 * Run uzswapctl with @args, without the agent (or it would become a
 * client itself), output into @out.  posix_spawn rather than fork: a
 * fork would make every page of the data shared, and UFFDIO_MOVE
 * refuses pages that are not exclusive to the process.
 */
static int ctl_run(char *out, size_t cap, const char *const args[])
{
	const char *ctl = getenv("UZSWAPCTL");
	char *argv[16], *envp[512];
	posix_spawn_file_actions_t fa;
	size_t n = 0, i, e = 0;
	int pfd[2], st, err;
	ssize_t r;
	pid_t pid;

	argv[0] = (char *)(ctl && *ctl ? ctl : "uzswapctl");
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	for (i = 0; environ[i] && e < 511; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			envp[e++] = environ[i];
	envp[e] = NULL;
	if (pipe2(pfd, O_CLOEXEC))
		bench_die(BC_EXIT_ERROR, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		snprintf(out, cap, "cannot run %s: %s", argv[0], strerror(err));
		return -err;
	}
	/* drain all of it, keep what fits */
	for (;;) {
		char sink[4096];

		r = read(pfd[0], n + 1 < cap ? out + n : sink,
			 n + 1 < cap ? cap - 1 - n : sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += r;
	}
	out[n] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Copy some of this process's numbers from `uzswapctl stats --json` into
 * the JSON line as uz_KEY, and into @val (-1: not there) when given.
 */
static void uz_stats(struct bench *b, const char *const keys[], double *val)
{
	static char js[1 << 16];
	const char *args[] = { "stats", "--json", NULL };
	char key[64], *p, *end, *k;
	int st = ctl_run(js, sizeof(js), args), i;
	double v;

	if (st)
		bench_die(BC_EXIT_ERROR, "uzswapctl stats --json: exit %d: %s", st, js);
	/* our client's object: the braces around "pid": N */
	for (p = strstr(js, "\"pid\""); p; p = strstr(p + 1, "\"pid\""))
		if (strtol(p + 5 + strspn(p + 5, ": "), NULL, 10) == getpid())
			break;
	if (!p)
		bench_die(BC_EXIT_ERROR, "no client with pid %d in uzswapctl stats: %s",
			  getpid(), js);
	while (p > js && *p != '{')
		p--;
	end = strchr(p, '}');
	for (i = 0; keys[i]; i++) {
		snprintf(key, sizeof(key), "\"%s\"", keys[i]);
		if (val)
			val[i] = -1;
		k = strstr(p, key);
		if (k && (!end || k < end))
			k = strchr(k + strlen(key), ':');
		if (k)
			k += 1 + strspn(k + 1, " ");
		if (!k || (end && k > end) || !isdigit((unsigned char)*k)) {
			/* missing or null (no sample): the report shows n/a */
			bench_note(b, "no number for \"%s\" in stats", keys[i]);
			continue;
		}
		v = strtod(k, NULL);
		snprintf(key, sizeof(key), "uz_%s", keys[i]);
		bench_out_num(b, key, v);
		if (val)
			val[i] = v;
	}
}

static void uz_prepare(struct bench *b)
{
	const char *pre = getenv("LD_PRELOAD");

	if (!pre || !strstr(pre, "libuzswap"))
		bench_die(BC_EXIT_SKIP, "not under the agent: run with "
					"LD_PRELOAD=.../libuzswap.so UZSWAP_SOCKET=...");
}

static void uz_evict(struct bench *b)
{
	static const char *const size_keys[] = { "evicted_bytes", "stored_bytes",
						 "pool_bytes", NULL };
	char pid[32], msg[4096];
	const char *args[] = { "evict", pid, "--all", NULL };
	double t, dt, out_pct, size[3];
	size_t n;
	int st;

	snprintf(pid, sizeof(pid), "%d", getpid());
	t = bench_now();
	st = ctl_run(msg, sizeof(msg), args);
	dt = bench_now() - t;
	bench_out_num(b, "evict_s", dt);
	bench_out_num(b, "evict_gbps", b->size / dt / 1e9);
	for (n = strlen(msg); n && isspace((unsigned char)msg[n - 1]); n--)
		msg[n - 1] = 0;
	if (st)
		bench_die(BC_EXIT_ERROR, "uzswapctl evict %s --all: exit %d: %s",
			  pid, st, msg);
	out_pct = 100 - bench_smaps_pct(b, "Rss");
	bench_out_num(b, "out_pct", out_pct);
	bench_note(b, "evicted %.1f%% in %.2f s: %s", out_pct, dt, msg);
	if (out_pct < 99)
		bench_die(BC_EXIT_ERROR, "after uzswapctl evict %s --all, %.1f%% of "
					 "the data is still resident (%s)",
			  pid, 100 - out_pct, msg);
	/* sizes now, while it is all evicted; counters after the read */
	uz_stats(b, size_keys, size);
	if (size[2] >= 0)
		bench_out_num(b, "pool_bytes", size[2]);
	if (size[1] > 0)
		bench_out_num(b, "ratio", size[0] / size[1]);
}

static void uz_after_read(struct bench *b)
{
	static const char *const count_keys[] = {
		"faults", "restores_2m", "restores_64k", "restores_4k",
		"restores_zero",
		"prefetch_2m", "evict_busy", "csum_failures", "lat_p50_ns",
		"lat_p99_ns", "restore2m_p50_ns", "restore2m_p99_ns", "fills",
		"fill_avg_ns", "fill_decode_avg_ns", "fill_copy_avg_ns", NULL
	};

	uz_stats(b, count_keys, NULL);
}

const struct system_ops sys_uzswap = {
	.name = "uzswap",
	.prepare = uz_prepare,
	.evict = uz_evict,
	.after_read = uz_after_read,
};
