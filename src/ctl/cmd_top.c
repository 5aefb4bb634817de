/* SPDX-License-Identifier: MIT */
/*
 * uzswapctl top: the clients live, redrawn every few seconds, busiest
 * first: what each holds, what was taken and what came back per second
 * since the last screen, and what the daemon's automatic eviction does
 * with it; above them the machine's memory pressure, below them the
 * same per memory cgroup, with its limit, target and pressure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgview.h"
#include "ctl.h"
#include "psi.h"
#include "size.h"
#include "statsfetch.h"

static struct {
	double delay;	/* seconds between screens */
	long iterations; /* 0: until interrupted */
} opt = { 2, 0 };

/* The last screen's counters of one client, by client id. */
struct last {
	uint32_t id;
	uint64_t taken, refaults, faults;
};

static struct last *prev;
static size_t n_prev;

/* The last screen's counters of one memory cgroup, by its path. */
struct cg_last {
	uint64_t id;
	uint64_t taken, refaults;
};

static struct cg_last *cg_prev;
static size_t n_cg_prev;

static const struct cg_last *cg_last_of(uint64_t id)
{
	size_t i;

	for (i = 0; i < n_cg_prev; i++)
		if (cg_prev[i].id == id)
			return &cg_prev[i];
	return NULL;
}

static const struct last *last_of(uint32_t id)
{
	size_t i;

	for (i = 0; i < n_prev; i++)
		if (prev[i].id == id)
			return &prev[i];
	return NULL;
}

/* "some avg10" of /proc/pressure/memory ("1.23%"), or "-" without PSI. */
static void pressure(char *buf, size_t len)
{
	uint32_t c = psi_memory_some_centi();

	if (c == PSI_UNKNOWN)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u.%02u%%", c / 100, c % 100);
}

static int busiest_first(const void *a, const void *b)
{
	const struct uz_stats_client *x = a, *y = b;

	return x->evicted_bytes < y->evicted_bytes ? 1 :
	       x->evicted_bytes > y->evicted_bytes ? -1 :
	       x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Per second since the last screen; "-" on a client's first screen and
 * when a count went down (a restarted agent). */
static void rate(char *buf, size_t len, int known, uint64_t now,
		 uint64_t then, double secs, int bytes)
{
	double v;

	if (!known || now < then || secs <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	v = (double)(now - then) / secs;
	if (bytes)
		size_format((uint64_t)v, buf, len);
	else
		snprintf(buf, len, v < 10 ? "%.1f" : "%.0f", v);
}

static void screen(struct stats_reply *r, double secs)
{
	char psi[32], at[16], c[4][32];
	time_t now = time(NULL);
	struct last *next;
	size_t i;

	pressure(psi, sizeof(psi));
	strftime(at, sizeof(at), "%H:%M:%S", localtime(&now));
	size_format(r->end.evicted_bytes, c[0], sizeof(c[0]));
	size_format(r->end.stored_bytes, c[1], sizeof(c[1]));
	printf("uzswap top - %s  %u clients, %s evicted in %s, memory pressure "
	       "%s (some avg10)\n\n", at, r->end.clients, c[0], c[1], psi);
	printf("%8s %-15s %9s %9s %9s %9s %9s %9s %9s %-8s\n", "PID", "COMMAND",
	       "RESIDENT", "EVICTED", "STORED", "INACTIVE", "TAKEN/s",
	       "REFAULT/s", "FAULT/s", "AUTO");
	qsort(r->rows, r->n, sizeof(*r->rows), busiest_first);
	next = calloc(r->n ? r->n : 1, sizeof(*next));
	if (!next)
		ctl_die("out of memory");
	for (i = 0; i < r->n; i++) {
		const struct uz_stats_client *s = &r->rows[i];
		const struct last *l = last_of(s->client_id);
		char res[16], ev[16], st[16], in[16];

		size_format(s->resident_bytes, res, sizeof(res));
		size_format(s->evicted_bytes, ev, sizeof(ev));
		size_format(s->stored_bytes, st, sizeof(st));
		size_format(s->inactive_bytes, in, sizeof(in));
		rate(c[0], sizeof(c[0]), l != NULL, s->evicted_bytes_total,
		     l ? l->taken : 0, secs, 1);
		rate(c[1], sizeof(c[1]), l != NULL, s->refaults, l ? l->refaults : 0,
		     secs, 0);
		rate(c[2], sizeof(c[2]), l != NULL, s->faults, l ? l->faults : 0, secs, 0);
		printf("%8u %-15s %9s %9s %9s %9s %9s %9s %9s %-8s\n", s->pid,
		       s->comm, res, ev, st, in, c[0], c[1], c[2],
		       uz_auto_state_name(s->auto_state));
		next[i] = (struct last){ s->client_id, s->evicted_bytes_total,
					 s->refaults, s->faults };
	}
	free(prev);
	prev = next;
	n_prev = r->n;
}

/* The clients' memory cgroups, the most evicted first: each one's usage
 * against its limit and target, its pressure, what was taken and came
 * back per second, and the loop's last back-off. */
static void cgroup_screen(const struct stats_reply *r, double secs)
{
	struct cg_row *rows;
	size_t i, n = cg_rows(r, &rows);
	struct cg_last *next = calloc(n ? n : 1, sizeof(*next));
	char c[8][32];

	if (!next)
		ctl_die("out of memory");
	printf("\n%-32s %4s %9s %9s %9s %9s %10s %9s %9s %-8s %s\n", "CGROUP",
	       "CLTS", "USAGE", "LIMIT", "TARGET", "INACTIVE", "PRESSURE",
	       "TAKEN/s", "REFAULT/s", "AUTO", "BACKOFF");
	for (i = 0; i < n; i++) {
		const struct cg_row *g = &rows[i];
		const struct cg_last *l = cg_last_of(g->id);
		const char *name = g->cgroup[0] ? g->cgroup : "-";
		size_t len = strlen(name);

		if (g->cgroup[0])
			size_format(g->usage, c[0], sizeof(c[0]));
		else
			snprintf(c[0], sizeof(c[0]), "-");
		cg_bytes_or_none(g->cgroup[0] ? g->limit : UINT64_MAX, c[1], sizeof(c[1]));
		cg_bytes_or_none(g->target, c[2], sizeof(c[2]));
		cg_pressure_text(g, c[3], sizeof(c[3]));
		rate(c[4], sizeof(c[4]), l != NULL, g->evicted_total,
		     l ? l->taken : 0, secs, 1);
		rate(c[5], sizeof(c[5]), l != NULL, g->refaults,
		     l ? l->refaults : 0, secs, 0);
		cg_backoff_text(g, c[6], sizeof(c[6]));
		size_format(g->inactive, c[7], sizeof(c[7]));
		/* a long path: its tail, which names the unit */
		printf("%-32s %4u %9s %9s %9s %9s %10s %9s %9s %-8s %s\n",
		       len > 32 ? name + len - 32 : name, g->clients, c[0], c[1],
		       c[2], c[7], c[3], c[4], c[5], cg_state_name(g->auto_state),
		       c[6]);
		next[i].id = g->id;
		next[i].taken = g->evicted_total;
		next[i].refaults = g->refaults;
	}
	free(rows);
	free(cg_prev);
	cg_prev = next;
	n_cg_prev = n;
}

static void help(void)
{
	printf("Usage: uzswapctl top [-d SECONDS] [-n COUNT]\n\n"
	       "The clients of uzswapd live, the most evicted first, with what\n"
	       "was taken, refaulted and faulted per second since the last\n"
	       "screen, and what automatic eviction does with each (AUTO).\n\n"
	       "  -d, --delay SECONDS  between screens (default 2)\n"
	       "  -n, --iterations N   stop after N screens (default: until "
	       "interrupted)\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stats_reply r = { 0 };
	int ch, fd, tty = isatty(STDOUT_FILENO);
	uint64_t seq = 1;
	double t_prev = 0, t;
	struct timespec ts;
	char *end;
	long k;

	while ((ch = getopt_long(argc, argv, ":d:n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': opt.delay = ctl_parse_seconds("delay", optarg); break;
		case 'n':
			opt.iterations = strtol(optarg, &end, 10);
			if (*end || opt.iterations <= 0)
				ctl_usage_error("top: -n takes a count above 0, "
						"not '%s'", optarg);
			break;
		case 'h': help(); return 0;
		default: ctl_bad_option("top", ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error("top: unexpected argument '%s'", argv[optind]);
	fd = ctl_connect();
	for (k = 0; !opt.iterations || k < opt.iterations; k++) {
		if (k)
			stats_sleep(opt.delay);
		stats_fetch(fd, seq++, &r);
		/* rates over the time between the two answers, not the delay */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ts.tv_sec + ts.tv_nsec / 1e9;
		if (tty)
			fputs("\033[H\033[2J", stdout); /* home, clear */
		else if (k)
			putchar('\n');
		screen(&r, k ? t - t_prev : 0);
		cgroup_screen(&r, k ? t - t_prev : 0);
		t_prev = t;
		fflush(stdout);
	}
	free(r.rows);
	free(prev);
	free(cg_prev);
	close(fd);
	return 0;
}
