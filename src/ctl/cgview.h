/* SPDX-License-Identifier: MIT */
/* The clients of one stats answer, summed per memory cgroup, for
 * uzswapctl stats --cgroups and top. */
#ifndef UZ_CTL_CGVIEW_H
#define UZ_CTL_CGVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "statsfetch.h"

#define CG_STATE_MIXED UZ_AUTO_STATE_MAX /* its clients differ */

struct cg_row {
	uint64_t id;		 /* uz_stats_client.cg_id */
	char cgroup[96];	 /* "" for clients in none */
	uint32_t clients;
	uint64_t usage, limit, target; /* UINT64_MAX: no limit, no target */
	uint32_t pressure_centi, pressure_own;
	uint64_t evicted, inactive, evicted_total, refaults;
	uint32_t auto_state;	 /* its clients', or CG_STATE_MIXED */
	uint32_t backoff, backoff_s; /* its latest back-off (OFF: none) */
};

/* One row per cgroup of @r's clients into *@rows (malloc'ed), the most
 * evicted first; their count. */
size_t cg_rows(const struct stats_reply *r, struct cg_row **rows);

/* The state of a row: "taking", ... or "mixed" */
const char *cg_state_name(uint32_t state);
/* Cells of a row: "-" for no limit, no target, no pressure, no back-off;
 * the back-off as "pressure 12s ago". */
void cg_bytes_or_none(uint64_t v, char *buf, size_t len);
void cg_pressure_text(const struct cg_row *c, char *buf, size_t len);
void cg_backoff_text(const struct cg_row *c, char *buf, size_t len);

/* The rows of @r as a table (uzswapctl stats --cgroups): JSON
 * ({"cgroups": [...]}) or aligned (@raw: not), sizes in bytes (@bytes),
 * headings unless @noheadings. */
void cg_print(const struct stats_reply *r, int json, int raw, int bytes,
	      int noheadings);

#endif
