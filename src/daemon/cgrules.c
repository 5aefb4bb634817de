/* SPDX-License-Identifier: MIT */
/* [cgroup PATH] and [unit NAME] sections: see cgrules.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgrules.h"

/* A cgroup path as the kernel writes it in /proc/PID/cgroup: absolute,
 * no empty, "." or ".." component, no trailing slash but for "/". */
static int path_ok(const char *p)
{
	const char *c = p;

	if (p[0] != '/')
		return 0;
	if (!p[1])
		return 1;
	while (*c == '/') {
		const char *end = strchr(c + 1, '/');
		size_t n = end ? (size_t)(end - c - 1) : strlen(c + 1);

		if (!n || (n == 1 && c[1] == '.') ||
		    (n == 2 && c[1] == '.' && c[2] == '.'))
			return 0;
		c += n + 1;
	}
	return !*c;
}

/* A unit's name: one cgroup path component, no blanks */
static int unit_ok(const char *u)
{
	if (!*u || !strcmp(u, ".") || !strcmp(u, ".."))
		return 0;
	for (; *u; u++)
		if (*u == '/' || isspace((unsigned char)*u))
			return 0;
	return 1;
}

int cg_rule_section(struct config *cfg, int kind, const char *name,
		    int *section, char *why, size_t len)
{
	const char *what = kind == CG_RULE_PATH ? "cgroup" : "unit";
	struct cg_rule *r;
	unsigned i;

	if (strlen(name) >= UZ_CG_NAME_MAX) {
		snprintf(why, len, "[%s ...]: longer than %d bytes", what,
			 UZ_CG_NAME_MAX - 1);
		return -EINVAL;
	}
	if (kind == CG_RULE_PATH ? !path_ok(name) : !unit_ok(name)) {
		snprintf(why, len, kind == CG_RULE_PATH ?
			 "[cgroup %s]: not a cgroup path (/system.slice/x.service)" :
			 "[unit %s]: not a unit name (x.service)", name);
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_cg; i++) {
		if ((int)cfg->cg[i].kind == kind && !strcmp(cfg->cg[i].name, name)) {
			*section = (int)i;
			return 0;
		}
	}
	if (cfg->n_cg == UZ_CG_RULES_MAX) {
		snprintf(why, len, "more than %d [cgroup] and [unit] sections",
			 UZ_CG_RULES_MAX);
		return -EINVAL;
	}
	r = &cfg->cg[cfg->n_cg];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	strcpy(r->name, name);
	*section = (int)cfg->n_cg++;
	return 0;
}

/* How far into @path rule @r reaches (0: it does not match) */
static size_t match_len(const struct cg_rule *r, const char *path)
{
	size_t n = strlen(r->name);
	const char *c;

	if (r->kind == CG_RULE_PATH) {
		if (!strcmp(r->name, "/"))
			return 1;
		return !strncmp(path, r->name, n) &&
		       (path[n] == '/' || !path[n]) ? n : 0;
	}
	/* the last component of that name: the unit nearest the process */
	for (c = path + strlen(path); c > path; c--)
		if (c[-1] == '/' && !strncmp(c, r->name, n) &&
		    (c[n] == '/' || !c[n]))
			return (size_t)(c - path) + n;
	return 0;
}

void cg_settings(const struct config *cfg, const char *path,
		 struct auto_config *out, const struct cg_rule **rule)
{
	const struct cg_rule *best = NULL;
	size_t best_len = 0;
	unsigned i;

	*out = cfg->autoev;
	for (i = 0; path[0] && i < cfg->n_cg; i++) {
		size_t n = match_len(&cfg->cg[i], path);

		/* equal reach: the later section, as a later key wins */
		if (n && n >= best_len) {
			best = &cfg->cg[i];
			best_len = n;
		}
	}
	*rule = best;
	if (!best)
		return;
	if (best->given & AUTO_KEY_ON)
		out->on = best->a.on;
	if (best->given & AUTO_KEY_STEP)
		out->step_pct = best->a.step_pct;
	if (best->given & AUTO_KEY_GUARD)
		out->guard_s = best->a.guard_s;
	if (best->given & AUTO_KEY_PRESSURE)
		out->pressure_pct = best->a.pressure_pct;
	if (best->given & AUTO_KEY_REFAULTS)
		out->refault_pct = best->a.refault_pct;
	if (best->given & AUTO_KEY_MIN_AGE)
		out->min_age_s = best->a.min_age_s;
	if (best->given & AUTO_KEY_READAHEAD)
		out->readahead = best->a.readahead;
	if (best->given & AUTO_KEY_FINISH)
		out->finish_after = best->a.finish_after;
	if (best->given & AUTO_KEY_HOLD)
		out->hold_ms = best->a.hold_ms;
	if (best->given & AUTO_KEY_TARGET) {
		out->target_bytes = best->a.target_bytes;
		out->target_pct = best->a.target_pct;
	}
}
