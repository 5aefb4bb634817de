/* SPDX-License-Identifier: MIT */
/* zramctl-style tables: chosen columns, aligned, raw or JSON output. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "columns.h"
#include "size.h"

struct table {
	const struct col_info *infos;
	const int *cols;
	int ncols;
	size_t nrows, cap;
	char **cells; /* nrows x ncols */
};

static void *xalloc(void *p)
{
	if (!p) {
		fprintf(stderr, "uzswapctl: out of memory\n");
		exit(1);
	}
	return p;
}

struct table *table_new(const struct col_info *infos, const int *cols,
			int ncols)
{
	struct table *t = xalloc(calloc(1, sizeof(*t)));

	t->infos = infos;
	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void table_add_row(struct table *t, char *const *cells)
{
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = xalloc(realloc(t->cells,
					  t->cap * t->ncols * sizeof(char *)));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xalloc(strdup(cells[i]));
	t->nrows++;
}

static const char *cell(const struct table *t, size_t row, int col)
{
	return t->cells[row * t->ncols + col];
}

/* Raw output escapes what would split a cell, as libsmartcols does. */
static void print_raw(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (isspace((unsigned char)*s) || *s == '\\' ||
		    !isprint((unsigned char)*s))
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

static void print_row(const struct table *t, const size_t *width,
		      const char *const *row, int flags, FILE *f)
{
	int i, right, last;

	for (i = 0; i < t->ncols; i++) {
		if (i)
			fputc(' ', f);
		if (flags & UZ_TABLE_RAW) {
			print_raw(f, row[i]);
			continue;
		}
		right = t->infos[t->cols[i]].flags & UZ_COL_NUMBER;
		last = i == t->ncols - 1;
		if (right)
			fprintf(f, "%*s", (int)width[i], row[i]);
		else
			fprintf(f, "%-*s", last ? 0 : (int)width[i], row[i]);
	}
	fputc('\n', f);
}

void table_print(const struct table *t, int flags, FILE *f)
{
	const char *heads[t->ncols];
	size_t width[t->ncols], r;
	int i;

	for (i = 0; i < t->ncols; i++) {
		heads[i] = t->infos[t->cols[i]].name;
		width[i] = strlen(heads[i]);
		for (r = 0; r < t->nrows; r++)
			if (strlen(cell(t, r, i)) > width[i])
				width[i] = strlen(cell(t, r, i));
	}
	if (!(flags & UZ_TABLE_NOHEADINGS))
		print_row(t, width, heads, flags, f);
	for (r = 0; r < t->nrows; r++)
		print_row(t, width, (const char *const *)&t->cells[r * t->ncols],
			  flags, f);
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void json_key(FILE *f, const char *key)
{
	json_string(f, key);
	fputs(": ", f);
}

void table_print_json(const struct table *t, FILE *f)
{
	const char *v;
	size_t r;
	int i;

	fputc('[', f);
	for (r = 0; r < t->nrows; r++) {
		fputs(r ? ",\n    {" : "\n    {", f);
		for (i = 0; i < t->ncols; i++) {
			if (i)
				fputs(", ", f);
			json_key(f, t->infos[t->cols[i]].json);
			v = cell(t, r, i);
			if (!(t->infos[t->cols[i]].flags & UZ_COL_NUMBER))
				json_string(f, v);
			else if (!*v || !strcmp(v, "-"))
				fputs("null", f); /* nothing to measure */
			else
				fputs(v, f);
		}
		fputc('}', f);
	}
	fputs(t->nrows ? "\n  ]" : "]", f);
}

static int column_find(const struct col_info *infos, int ninfos,
		       const char *name, size_t len)
{
	int i;

	for (i = 0; i < ninfos; i++)
		if (strlen(infos[i].name) == len &&
		    !strncasecmp(infos[i].name, name, len))
			return i;
	return -1;
}

int columns_parse(const char *list, const struct col_info *infos,
		  int ninfos, int *cols, int ndef, int max, char *bad,
		  size_t bad_len)
{
	const char *p = list, *end;
	int n = 0, id;

	if (*p == '+') {
		n = ndef;
		p++;
	}
	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ',');
		id = column_find(infos, ninfos, p, end - p);
		if (id < 0 || n >= max) {
			snprintf(bad, bad_len, "%.*s", id < 0 ? (int)(end - p) : 0, p);
			return -EINVAL;
		}
		cols[n++] = id;
	}
	if (!n) {
		snprintf(bad, bad_len, "%s", list);
		return -EINVAL;
	}
	return n;
}

void columns_help(const struct col_info *infos, int ninfos, FILE *f)
{
	int i;

	fputs("\nAvailable output columns:\n", f);
	for (i = 0; i < ninfos; i++)
		fprintf(f, " %11s  %s\n", infos[i].name, infos[i].help);
}

void cell_bytes(uint64_t v, int raw, char *buf, size_t len)
{
	if (raw)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		size_format(v, buf, len);
}
