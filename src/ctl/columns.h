/* SPDX-License-Identifier: MIT */
/* zramctl-style tables: chosen columns, aligned, raw or JSON output. */
#ifndef UZ_COLUMNS_H
#define UZ_COLUMNS_H

#include <stdint.h>
#include <stdio.h>

#define UZ_COL_NUMBER 0x1 /* right-aligned; a bare number in JSON */

#define UZ_TABLE_RAW 0x1	/* one space between cells, no padding */
#define UZ_TABLE_NOHEADINGS 0x2

/* One column a command can show (the COL_* enums index these). */
struct col_info {
	const char *name; /* heading */
	const char *json; /* key in JSON output */
	int flags;
	const char *help;
};

struct table;

/* A table of @ncols columns @cols (indices into @infos). */
struct table *table_new(const struct col_info *infos, const int *cols,
			int ncols);
void table_free(struct table *t);
/* Add a row: @cells[i] is the text of column cols[i] (copied). */
void table_add_row(struct table *t, char *const *cells);
/* Print aligned (or raw) rows, headings first unless told not to. */
void table_print(const struct table *t, int flags, FILE *f);
/* Print the rows as a JSON array of objects. */
void table_print_json(const struct table *t, FILE *f);

/*
 * Parse a -o list ("PID,COMMAND", case-insensitive; "+LIST" appends to
 * the @ndef columns already in @cols) into @cols, at most @max.
 * Returns the number of columns, or -EINVAL with the name it did not
 * know (or "" for too many) in @bad.
 */
int columns_parse(const char *list, const struct col_info *infos,
		  int ninfos, int *cols, int ndef, int max, char *bad,
		  size_t bad_len);
/* The "Available output columns" part of a --help. */
void columns_help(const struct col_info *infos, int ninfos, FILE *f);

/* A size cell: @v as a count of bytes (@raw: -b, JSON) or "1.5G". */
void cell_bytes(uint64_t v, int raw, char *buf, size_t len);

/* @s as a JSON string, quotes and escapes included. */
void json_string(FILE *f, const char *s);
/* "@key": with its separator. */
void json_key(FILE *f, const char *key);

#endif
