/* SPDX-License-Identifier: MIT */
/* The clients summed per memory cgroup: see cgview.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgview.h"
#include "columns.h"
#include "ctl.h"
#include "size.h"

static int most_evicted_first(const void *a, const void *b)
{
	const struct cg_row *x = a, *y = b;

	return x->evicted < y->evicted ? 1 : x->evicted > y->evicted ? -1 :
	       strcmp(x->cgroup, y->cgroup);
}

/* by id: two paths cut to the same tail are two cgroups */
static struct cg_row *row_of(struct cg_row *rows, size_t *n,
			     const struct uz_stats_client *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (rows[i].id == s->cg_id && !strcmp(rows[i].cgroup, s->cgroup))
			return &rows[i];
	memset(&rows[*n], 0, sizeof(rows[*n]));
	rows[*n].id = s->cg_id;
	snprintf(rows[*n].cgroup, sizeof(rows[*n].cgroup), "%s", s->cgroup);
	return &rows[(*n)++];
}

size_t cg_rows(const struct stats_reply *r, struct cg_row **rows)
{
	struct cg_row *out = calloc(r->n ? r->n : 1, sizeof(*out));
	size_t i, n = 0;

	if (!out)
		ctl_die("out of memory");
	for (i = 0; i < r->n; i++) {
		const struct uz_stats_client *s = &r->rows[i];
		struct cg_row *c = row_of(out, &n, s);

		/* the cgroup's own figures: the same for each of its
		 * clients, read a moment apart; the last one read */
		c->usage = s->cg_usage;
		c->limit = s->cg_limit;
		c->target = s->cg_target;
		c->pressure_centi = s->pressure_centi;
		c->pressure_own = s->pressure_own;
		c->evicted += s->evicted_bytes;
		c->inactive += s->inactive_bytes;
		c->evicted_total += s->evicted_bytes_total;
		c->refaults += s->refaults;
		c->auto_state = !c->clients || c->auto_state == s->auto_state ?
					s->auto_state : CG_STATE_MIXED;
		if (s->auto_backoff != UZ_AUTO_OFF &&
		    (c->backoff == UZ_AUTO_OFF || s->auto_backoff_s < c->backoff_s)) {
			c->backoff = s->auto_backoff;
			c->backoff_s = s->auto_backoff_s;
		}
		c->clients++;
	}
	qsort(out, n, sizeof(*out), most_evicted_first);
	*rows = out;
	return n;
}

const char *cg_state_name(uint32_t state)
{
	return state == CG_STATE_MIXED ? "mixed" : uz_auto_state_name(state);
}

void cg_bytes_or_none(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "-");
	else
		size_format(v, buf, len);
}

void cg_pressure_text(const struct cg_row *c, char *buf, size_t len)
{
	if (c->pressure_centi == UINT32_MAX)
		snprintf(buf, len, "-");
	else /* "(m)": the machine's, the cgroup having none of its own */
		snprintf(buf, len, "%u.%02u%%%s", c->pressure_centi / 100,
			 c->pressure_centi % 100, c->pressure_own ? "" : "(m)");
}

void cg_backoff_text(const struct cg_row *c, char *buf, size_t len)
{
	if (c->backoff == UZ_AUTO_OFF)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s %us ago", uz_auto_state_name(c->backoff),
			 c->backoff_s);
}

/* uzswapctl stats --cgroups */
enum { CGC_CGROUP, CGC_CLIENTS, CGC_USAGE, CGC_LIMIT, CGC_TARGET, CGC_PRESSURE,
       CGC_EVICTED, CGC_INACTIVE, CGC_TAKEN, CGC_REFAULTS, CGC_AUTO, CGC_BACKOFF,
       CGC_COUNT };
static const struct col_info cg_infos[CGC_COUNT] = {
	[CGC_CGROUP] = { "CGROUP", "cgroup", 0, NULL },
	[CGC_CLIENTS] = { "CLIENTS", "clients", UZ_COL_NUMBER, NULL },
	[CGC_USAGE] = { "USAGE", "usage_bytes", UZ_COL_NUMBER, NULL },
	[CGC_LIMIT] = { "LIMIT", "limit_bytes", UZ_COL_NUMBER, NULL },
	[CGC_TARGET] = { "TARGET", "target_bytes", UZ_COL_NUMBER, NULL },
	[CGC_PRESSURE] = { "PRESSURE", "pressure", 0, NULL },
	[CGC_EVICTED] = { "EVICTED", "evicted_bytes", UZ_COL_NUMBER, NULL },
	[CGC_INACTIVE] = { "INACTIVE", "inactive_bytes", UZ_COL_NUMBER, NULL },
	[CGC_TAKEN] = { "TAKEN", "evicted_bytes_total", UZ_COL_NUMBER, NULL },
	[CGC_REFAULTS] = { "REFAULTS", "refaults", UZ_COL_NUMBER, NULL },
	[CGC_AUTO] = { "AUTO", "auto", 0, NULL },
	[CGC_BACKOFF] = { "BACKOFF", "backoff", 0, NULL },
};

void cg_print(const struct stats_reply *r, int json, int raw, int bytes,
	      int noheadings)
{
	static const int all[CGC_COUNT] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	char text[CGC_COUNT][112], *cells[CGC_COUNT];
	struct cg_row *rows;
	size_t i, n = cg_rows(r, &rows);
	struct table *t = table_new(cg_infos, all, CGC_COUNT);
	int c;

	for (i = 0; i < n; i++) {
		const struct cg_row *g = &rows[i];

		for (c = 0; c < CGC_COUNT; c++)
			cells[c] = text[c];
		snprintf(text[CGC_CGROUP], sizeof(text[0]), "%s",
			 g->cgroup[0] ? g->cgroup : "-");
		snprintf(text[CGC_CLIENTS], sizeof(text[0]), "%u", g->clients);
		if (g->cgroup[0])
			cell_bytes(g->usage, bytes, text[CGC_USAGE], sizeof(text[0]));
		else
			snprintf(text[CGC_USAGE], sizeof(text[0]), "-");
		if (g->limit == UINT64_MAX || !g->cgroup[0])
			snprintf(text[CGC_LIMIT], sizeof(text[0]), "-");
		else
			cell_bytes(g->limit, bytes, text[CGC_LIMIT], sizeof(text[0]));
		if (g->target == UINT64_MAX)
			snprintf(text[CGC_TARGET], sizeof(text[0]), "-");
		else
			cell_bytes(g->target, bytes, text[CGC_TARGET], sizeof(text[0]));
		cg_pressure_text(g, text[CGC_PRESSURE], sizeof(text[0]));
		cell_bytes(g->evicted, bytes, text[CGC_EVICTED], sizeof(text[0]));
		cell_bytes(g->inactive, bytes, text[CGC_INACTIVE], sizeof(text[0]));
		cell_bytes(g->evicted_total, bytes, text[CGC_TAKEN], sizeof(text[0]));
		snprintf(text[CGC_REFAULTS], sizeof(text[0]), "%llu",
			 (unsigned long long)g->refaults);
		snprintf(text[CGC_AUTO], sizeof(text[0]), "%s",
			 cg_state_name(g->auto_state));
		cg_backoff_text(g, text[CGC_BACKOFF], sizeof(text[0]));
		table_add_row(t, cells);
	}
	if (json) {
		fputs("{\n  \"cgroups\": ", stdout);
		table_print_json(t, stdout);
		fputs("\n}\n", stdout);
	} else {
		table_print(t, (raw ? UZ_TABLE_RAW : 0) |
				       (noheadings ? UZ_TABLE_NOHEADINGS : 0),
			    stdout);
	}
	table_free(t);
	free(rows);
}

