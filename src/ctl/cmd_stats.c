/* SPDX-License-Identifier: MIT */
/* uzswapctl stats: one row per client, a totals row, JSON, --watch. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgview.h"
#include "columns.h"
#include "ctl.h"
#include "size.h"
#include "statsfetch.h"

enum {
	COL_PID,
	COL_COMMAND,
	COL_REGISTERED,
	COL_RESIDENT,
	COL_EVICTED,
	COL_STORED,
	COL_RATIO,
	COL_POOL,
	COL_FAULTS,
	COL_RESTORE2M,
	COL_RESTORE64K,
	COL_RESTORE4K,
	COL_ZERO,
	COL_PREFETCH,
	COL_BUSY,
	COL_CSUMFAIL,
	COL_P50,
	COL_P99,
	COL_P50_2M,
	COL_P99_2M,
	COL_REFAULTS,
	COL_AGE_P50,
	COL_AUTO,
	COL_CGROUP,
	COL_CG_USAGE,
	COL_CG_LIMIT,
	COL_TARGET,
	COL_PRESSURE,
	COL_BACKOFF,
	COL_INACTIVE,
	COL_INACT_TAKEN,
	COL_INACT_BACK,
	COL_INACT_AGED,
	COL_GUARD,
	COL_HOLDS,
	COL_FILLS,
	COL_FILL_AVG,
	COL_DECODE_AVG,
	COL_COPY_AVG,
	COL_COUNT
};

#define N UZ_COL_NUMBER
static const struct col_info infos[COL_COUNT] = {
	[COL_PID] = { "PID", "pid", N, "process id" },
	[COL_COMMAND] = { "COMMAND", "command", 0, "command name" },
	[COL_REGISTERED] = { "REGISTERED", "registered_bytes", N,
			     "anonymous memory the agent manages" },
	[COL_RESIDENT] = { "RESIDENT", "resident_bytes", N,
			   "anonymous memory in RAM (RssAnon)" },
	[COL_EVICTED] = { "EVICTED", "evicted_bytes", N,
			  "memory taken away, held compressed" },
	[COL_STORED] = { "STORED", "stored_bytes", N,
			 "compressed size of the evicted memory" },
	[COL_RATIO] = { "RATIO", "ratio", N, "EVICTED / STORED" },
	[COL_POOL] = { "POOL", "pool_bytes", N,
		       "arena memory in use, overhead included" },
	[COL_FAULTS] = { "FAULTS", "faults", N, "faults on evicted memory" },
	[COL_RESTORE2M] = { "RESTORE2M", "restores_2m", N,
			    "2M blocks restored whole" },
	[COL_RESTORE64K] = { "RESTORE64K", "restores_64k", N,
			     "64K frames restored one by one" },
	[COL_RESTORE4K] = { "RESTORE4K", "restores_4k", N,
			    "4K pages restored alone (isolated touches)" },
	[COL_ZERO] = { "ZERO", "restores_zero", N,
		       "64K frames restored as zero pages" },
	[COL_PREFETCH] = { "PREFETCH", "prefetch_2m", N,
			   "2M blocks restored ahead of a fault" },
	[COL_BUSY] = { "BUSY", "evict_busy", N,
		       "blocks the kernel would not move, copied" },
	[COL_CSUMFAIL] = { "CSUMFAIL", "csum_failures", N,
			   "frames whose checksum failed" },
	[COL_P50] = { "P50", "lat_p50_ns", N, "median fault latency" },
	[COL_P99] = { "P99", "lat_p99_ns", N, "99th percentile fault latency" },
	[COL_P50_2M] = { "P50-2M", "restore2m_p50_ns", N,
			 "median latency of a 2M restore" },
	[COL_P99_2M] = { "P99-2M", "restore2m_p99_ns", N,
			 "99th percentile latency of a 2M restore" },
	[COL_REFAULTS] = { "REFAULTS", "refaults", N,
			   "evicted or inactive blocks touched again" },
	[COL_AGE_P50] = { "AGE-P50", "refault_age_p50_ms", N,
			  "median time from a block's eviction to its refault" },
	[COL_AUTO] = { "AUTO", "auto", 0,
		       "automatic eviction: off, taking, pressure, refaults, "
		       "nothing, full, failed, limit, target, restored, "
		       "traced or stopped" },
	[COL_CGROUP] = { "CGROUP", "cgroup", 0, "its memory cgroup" },
	[COL_CG_USAGE] = { "CG-USAGE", "cgroup_usage_bytes", N,
			   "memory charged to that cgroup" },
	[COL_CG_LIMIT] = { "CG-LIMIT", "cgroup_limit_bytes", N,
			   "that cgroup's memory limit" },
	[COL_TARGET] = { "TARGET", "target_bytes", N,
			 "target= of its [cgroup]/[unit] section or [daemon]" },
	[COL_PRESSURE] = { "PRESSURE", "pressure", 0,
			   "PSI some avg10 it is judged by; (m): the machine's" },
	[COL_BACKOFF] = { "BACKOFF", "backoff", 0,
			  "why automatic eviction last backed off, and when" },
	[COL_INACTIVE] = { "INACTIVE", "inactive_bytes", N,
			   "memory taken uncompressed, waiting out min-age" },
	[COL_INACT_TAKEN] = { "INACT-TAKEN", "inactive_taken", N,
			      "blocks put on the inactive list" },
	[COL_INACT_BACK] = { "INACT-BACK", "inactive_back", N,
			     "... touched there and moved back whole" },
	[COL_INACT_AGED] = { "INACT-AGED", "inactive_stored", N,
			     "... untouched for min-age, then compressed" },
	[COL_GUARD] = { "GUARD", "guard_blocks", N,
			"blocks taken out before a restore at its cgroup's limit" },
	[COL_HOLDS] = { "HOLDS", "holds", N,
			"times held while a step at its cgroup's limit ran" },
	[COL_FILLS] = { "FILLS", "fills", N,
			"faults that brought back a 4K page or a 64K frame of data" },
	[COL_FILL_AVG] = { "FILL-AVG", "fill_avg_ns", N,
			   "their mean time, the agent's read to resolved" },
	[COL_DECODE_AVG] = { "DECODE-AVG", "fill_decode_avg_ns", N,
			     "... of it reading, checking, decoding the frame" },
	[COL_COPY_AVG] = { "COPY-AVG", "fill_copy_avg_ns", N,
			   "... of it the copy in, which wakes the thread" },
};
#undef N

static const int default_cols[] = {
	COL_PID,     COL_COMMAND, COL_REGISTERED, COL_RESIDENT, COL_EVICTED,
	COL_STORED,  COL_RATIO,	  COL_FAULTS,	  COL_P50,	COL_P99,
};

#define UZ_COLS_MAX (2 * COL_COUNT)

static struct {
	int cols[UZ_COLS_MAX];
	int ncols;
	int json, raw, noheadings, bytes, cgroups;
	double watch; /* seconds; 0: once */
} opt;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* The totals row: the daemon's sums, and ours of the counters. */
static void totals(const struct stats_reply *r, struct uz_stats_client *t)
{
	const struct uz_stats_client *s;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < r->n; i++) {
		s = &r->rows[i];
		t->resident_bytes = sat_add(t->resident_bytes, s->resident_bytes);
		t->faults = sat_add(t->faults, s->faults);
		t->restores_2m = sat_add(t->restores_2m, s->restores_2m);
		t->restores_64k = sat_add(t->restores_64k, s->restores_64k);
		t->restores_4k = sat_add(t->restores_4k, s->restores_4k);
		t->restores_zero = sat_add(t->restores_zero, s->restores_zero);
		t->prefetch_2m = sat_add(t->prefetch_2m, s->prefetch_2m);
		t->evict_busy = sat_add(t->evict_busy, s->evict_busy);
		t->csum_failures = sat_add(t->csum_failures, s->csum_failures);
		t->refaults = sat_add(t->refaults, s->refaults);
		t->inactive_bytes = sat_add(t->inactive_bytes, s->inactive_bytes);
		t->inactive_taken = sat_add(t->inactive_taken, s->inactive_taken);
		t->inactive_back = sat_add(t->inactive_back, s->inactive_back);
		t->inactive_stored = sat_add(t->inactive_stored, s->inactive_stored);
		t->guard_blocks = sat_add(t->guard_blocks, s->guard_blocks);
		t->holds = sat_add(t->holds, s->holds);
		t->fills = sat_add(t->fills, s->fills);
	}
	t->registered_bytes = r->end.registered_bytes;
	t->evicted_bytes = r->end.evicted_bytes;
	t->stored_bytes = r->end.stored_bytes;
	t->pool_bytes = r->end.pool_bytes;
}

/* "850ns", "12us", "1.2ms"; "-" when there was no sample, or in the
 * totals row (percentiles do not add up). */
static void format_ns(uint64_t ns, int total, int raw, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} units[] = { { 1000000000, "s" }, { 1000000, "ms" }, { 1000, "us" } };
	double v;
	size_t i;

	if (total || (!raw && !ns)) {
		snprintf(buf, len, "-");
		return;
	}
	if (raw) {
		snprintf(buf, len, "%llu", (unsigned long long)ns);
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns < units[i].div)
			continue;
		v = (double)ns / units[i].div;
		snprintf(buf, len, v < 10 ? "%.1f%s" : "%.0f%s", v, units[i].unit);
		return;
	}
	snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

/* A cgroup column of client @s: as its cgroup's row would show it */
static void client_cgroup_cell(int col, const struct uz_stats_client *s,
			       int raw, char *buf, size_t len)
{
	struct cg_row c = { .usage = s->cg_usage, .limit = s->cg_limit,
			    .target = s->cg_target,
			    .pressure_centi = s->pressure_centi,
			    .pressure_own = s->pressure_own,
			    .backoff = s->auto_backoff,
			    .backoff_s = s->auto_backoff_s };

	switch (col) {
	case COL_CGROUP: snprintf(buf, len, "%s", s->cgroup[0] ? s->cgroup : "-"); return;
	case COL_PRESSURE: cg_pressure_text(&c, buf, len); return;
	case COL_BACKOFF: cg_backoff_text(&c, buf, len); return;
	}
	if (!s->cgroup[0] || (col != COL_CG_USAGE &&
			      (col == COL_CG_LIMIT ? c.limit : c.target) == UINT64_MAX))
		snprintf(buf, len, "-");
	else
		cell_bytes(col == COL_CG_USAGE ? c.usage :
			     col == COL_CG_LIMIT ? c.limit : c.target, raw, buf, len);
}

/* The text of column @col for @s; @total marks the totals row (2: it
 * has no COMMAND column to carry the label). */
static void cell_text(int col, const struct uz_stats_client *s, int total,
		      int raw, char *buf, size_t len)
{
	uint64_t count;

	switch (col) {
	case COL_PID:
		/* the totals row is labelled under COMMAND, else here */
		snprintf(buf, len, !total ? "%u" : total > 1 ? "total" : "-",
			 s->pid);
		return;
	case COL_COMMAND:
		snprintf(buf, len, "%s", total ? "total" : s->comm);
		return;
	case COL_REGISTERED: cell_bytes(s->registered_bytes, raw, buf, len); return;
	case COL_RESIDENT: cell_bytes(s->resident_bytes, raw, buf, len); return;
	case COL_EVICTED: cell_bytes(s->evicted_bytes, raw, buf, len); return;
	case COL_STORED: cell_bytes(s->stored_bytes, raw, buf, len); return;
	case COL_POOL: cell_bytes(s->pool_bytes, raw, buf, len); return;
	case COL_INACTIVE: cell_bytes(s->inactive_bytes, raw, buf, len); return;
	case COL_RATIO:
		if (s->stored_bytes)
			snprintf(buf, len, "%.2f",
				 (double)s->evicted_bytes / s->stored_bytes);
		else
			snprintf(buf, len, "-");
		return;
	case COL_P50: format_ns(s->lat_p50_ns, total, raw, buf, len); return;
	case COL_P99: format_ns(s->lat_p99_ns, total, raw, buf, len); return;
	case COL_P50_2M: format_ns(s->restore2m_p50_ns, total, raw, buf, len); return;
	case COL_P99_2M: format_ns(s->restore2m_p99_ns, total, raw, buf, len); return;
	/* no fill, no mean: "-" (null in JSON), not a 0 that reads as one */
	case COL_FILL_AVG: format_ns(s->fill_avg_ns, total || !s->fills, raw, buf, len); return;
	case COL_DECODE_AVG: format_ns(s->fill_decode_avg_ns, total || !s->fills, raw, buf, len); return;
	case COL_COPY_AVG: format_ns(s->fill_copy_avg_ns, total || !s->fills, raw, buf, len); return;
	case COL_AGE_P50:
		/* milliseconds in JSON (the key says so), ns with -b, a
		 * duration on a terminal; a median under 1 ms is 0 */
		if (opt.json && !total)
			snprintf(buf, len, "%llu", (unsigned long long)s->refault_age_p50_ms);
		else if (!raw && !total && s->refaults && !s->refault_age_p50_ms)
			snprintf(buf, len, "<1ms");
		else
			format_ns(s->refault_age_p50_ms * 1000000, total, raw, buf, len);
		return;
	case COL_AUTO:
		snprintf(buf, len, "%s", total ? "-" : uz_auto_state_name(s->auto_state));
		return;
	case COL_CGROUP: case COL_CG_USAGE: case COL_CG_LIMIT: case COL_TARGET:
	case COL_PRESSURE: case COL_BACKOFF:
		if (total)
			snprintf(buf, len, "-");
		else
			client_cgroup_cell(col, s, raw, buf, len);
		return;
	case COL_REFAULTS: count = s->refaults; break;
	case COL_FAULTS: count = s->faults; break;
	case COL_RESTORE2M: count = s->restores_2m; break;
	case COL_RESTORE64K: count = s->restores_64k; break;
	case COL_RESTORE4K: count = s->restores_4k; break;
	case COL_ZERO: count = s->restores_zero; break;
	case COL_PREFETCH: count = s->prefetch_2m; break;
	case COL_BUSY: count = s->evict_busy; break;
	case COL_INACT_TAKEN: count = s->inactive_taken; break;
	case COL_INACT_BACK: count = s->inactive_back; break;
	case COL_INACT_AGED: count = s->inactive_stored; break;
	case COL_GUARD: count = s->guard_blocks; break;
	case COL_HOLDS: count = s->holds; break;
	case COL_FILLS: count = s->fills; break;
	default: count = s->csum_failures; break;
	}
	snprintf(buf, len, "%llu", (unsigned long long)count);
}

static void add_row(struct table *t, const struct uz_stats_client *s,
		    int total, int raw)
{
	char text[UZ_COLS_MAX][112], *cells[UZ_COLS_MAX]; /* CGROUP: 96 */
	int i;

	for (i = 0; i < opt.ncols; i++) {
		cell_text(opt.cols[i], s, total, raw, text[i], sizeof(text[i]));
		cells[i] = text[i];
	}
	table_add_row(t, cells);
}

static void print_json(const struct stats_reply *r, const struct uz_stats_client *sum)
{
	struct table *t = table_new(infos, opt.cols, opt.ncols);
	char buf[32];
	size_t i;
	int c;

	for (i = 0; i < r->n; i++)
		add_row(t, &r->rows[i], 0, 1);
	fputs("{\n  \"clients\": ", stdout);
	table_print_json(t, stdout);
	printf(",\n  \"totals\": {\"clients\": %u", r->end.clients);
	for (c = COL_REGISTERED; c < COL_COUNT; c++) {
		/* percentiles and states do not add up */
		if (c == COL_P50 || c == COL_P99 || c == COL_P50_2M ||
		    c == COL_P99_2M || c == COL_AGE_P50 || c >= COL_AUTO)
			continue;
		cell_text(c, sum, 1, 1, buf, sizeof(buf));
		fputs(", ", stdout);
		json_key(stdout, infos[c].json);
		fputs(strcmp(buf, "-") ? buf : "null", stdout);
	}
	fputs("}\n}\n", stdout);
	table_free(t);
}

static int has_column(int col)
{
	int i;

	for (i = 0; i < opt.ncols; i++)
		if (opt.cols[i] == col)
			return 1;
	return 0;
}

static void print_once(const struct stats_reply *r)
{
	struct uz_stats_client sum;
	struct table *t;
	size_t i;

	if (opt.cgroups) {
		cg_print(r, opt.json, opt.raw, opt.bytes || opt.json,
			 opt.noheadings);
		return;
	}
	totals(r, &sum);
	if (opt.json) {
		print_json(r, &sum);
		return;
	}
	t = table_new(infos, opt.cols, opt.ncols);
	for (i = 0; i < r->n; i++)
		add_row(t, &r->rows[i], 0, opt.bytes);
	if (!opt.raw && r->n)
		add_row(t, &sum, has_column(COL_COMMAND) ? 1 : 2, opt.bytes);
	table_print(t, (opt.raw ? UZ_TABLE_RAW : 0) |
			       (opt.noheadings ? UZ_TABLE_NOHEADINGS : 0),
		    stdout);
	table_free(t);
}

static void help(void)
{
	printf("Usage: uzswapctl stats [options]\n\n"
	       "One line per client of uzswapd, then their totals.\n\n"
	       "  -o, --output LIST   columns to show (+LIST adds to the "
	       "default)\n"
	       "  -J, --json          JSON: {\"clients\": [...], \"totals\": "
	       "{...}},\n"
	       "                      every column unless -o, bytes and ns\n"
	       "  -r, --raw           no alignment, no totals\n"
	       "  -n, --noheadings    no headings\n"
	       "  -b, --bytes         sizes in bytes, latencies in ns\n"
	       "  -g, --cgroups       one line per memory cgroup instead: its\n"
	       "                      usage, limit, target, pressure, what was\n"
	       "                      taken and came back, the last back-off\n"
	       "  -w, --watch[=SECONDS]  redraw every SECONDS (default 1)\n");
	columns_help(infos, COL_COUNT, stdout);
}

/* "--watch 2": getopt only takes "--watch=2", so take a lone number. */
static int watch_argument(int argc, char **argv)
{
	if (opt.watch && optind == argc - 1 &&
	    isdigit((unsigned char)argv[optind][0])) {
		opt.watch = ctl_parse_seconds("interval", argv[optind]);
		optind++;
	}
	return optind < argc;
}

static void options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "cgroups", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *list = NULL;
	char bad[64];
	int ch, i;

	while ((ch = getopt_long(argc, argv, ":o:Jrnbgw::h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': list = optarg; break;
		case 'J': opt.json = 1; break;
		case 'r': opt.raw = 1; break;
		case 'n': opt.noheadings = 1; break;
		case 'b': opt.bytes = 1; break;
		case 'g': opt.cgroups = 1; break;
		case 'w':
			opt.watch = optarg ? ctl_parse_seconds("interval", optarg) : 1;
			break;
		case 'h': help(); exit(0);
		default: ctl_bad_option("stats", ch, argv);
		}
	}
	if (watch_argument(argc, argv))
		ctl_usage_error("stats: unexpected argument '%s'", argv[optind]);
	if (opt.json && opt.watch)
		ctl_usage_error("stats: --json and --watch do not go together");
	if (opt.cgroups && list)
		ctl_usage_error("stats: --cgroups shows its own columns, not -o");
	if (opt.json && !list) {
		for (i = 0; i < COL_COUNT; i++)
			opt.cols[i] = i;
		opt.ncols = COL_COUNT;
	} else {
		opt.ncols = sizeof(default_cols) / sizeof(default_cols[0]);
		memcpy(opt.cols, default_cols, sizeof(default_cols));
	}
	if (list) {
		opt.ncols = columns_parse(list, infos, COL_COUNT, opt.cols,
					  opt.ncols, UZ_COLS_MAX, bad, sizeof(bad));
		if (opt.ncols < 0)
			ctl_die(bad[0] ? "unknown column '%s'" : "too many "
				"columns%s", bad);
	}
}

int cmd_stats(int argc, char **argv)
{
	struct stats_reply r = { 0 };
	uint64_t seq = 1;
	int fd, tty = isatty(STDOUT_FILENO);

	options(argc, argv);
	fd = ctl_connect();
	for (;;) {
		stats_fetch(fd, seq++, &r);
		if (opt.watch && tty)
			fputs("\033[H\033[2J", stdout); /* home, clear */
		print_once(&r);
		if (!opt.watch)
			break;
		if (!tty)
			putchar('\n');
		fflush(stdout);
		stats_sleep(opt.watch);
	}
	free(r.rows);
	close(fd);
	return 0;
}
