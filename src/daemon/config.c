/* SPDX-License-Identifier: MIT */
/* Parser of uzswapd.conf and its drop-ins (systemd style, [daemon] section). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrules.h"
#include "codec.h"
#include "config.h"
#include "frame.h"
#include "log.h"
#include "protocol.h"
#include "size.h"

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", UZ_LOG_ERR },
	{ "warn", UZ_LOG_WARN },
	{ "info", UZ_LOG_INFO },
	{ "debug", UZ_LOG_DEBUG },
};

int config_log_level(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (!strcmp(name, log_levels[i].name))
			return log_levels[i].level;
	return -EINVAL;
}

const char *config_log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "?";
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->codec = UZ_CODEC_LZ4;
	cfg->level = codec_ops_by_id(UZ_CODEC_LZ4)->default_level;
	cfg->log_level = UZ_LOG_INFO;
	cfg->evict_timeout = UZ_EVICT_TIMEOUT_DEFAULT;
	/* a swap system takes cold memory by itself: every client, unless
	 * the configuration says auto=off */
	cfg->autoev.on = 1;
	cfg->autoev.interval_ms = UZ_AUTO_INTERVAL_DEFAULT;
	cfg->autoev.step_pct = UZ_AUTO_STEP_DEFAULT;
	cfg->autoev.guard_s = UZ_AUTO_GUARD_DEFAULT;
	cfg->autoev.pressure_pct = UZ_AUTO_PRESSURE_DEFAULT;
	cfg->autoev.refault_pct = UZ_AUTO_REFAULT_DEFAULT;
	cfg->autoev.min_age_s = UZ_AUTO_MIN_AGE_DEFAULT;
	cfg->autoev.readahead = UZ_REFILL_READAHEAD_DEFAULT;
	cfg->autoev.finish_after = UZ_REFILL_FINISH_DEFAULT;
	cfg->autoev.hold_ms = UZ_AUTO_HOLD_DEFAULT;
}

static int set_socket(struct config *cfg, const char *v, char *why, size_t len)
{
	if (v[0] != '/') {
		snprintf(why, len, "socket must be an absolute path");
		return -EINVAL;
	}
	if (strlen(v) >= sizeof(cfg->socket)) {
		snprintf(why, len, "socket path longer than %zu bytes",
			 sizeof(cfg->socket) - 1);
		return -EINVAL;
	}
	strcpy(cfg->socket, v);
	return 0;
}

static int set_codec(struct config *cfg, const char *v, char *why, size_t len)
{
	return codec_parse(v, &cfg->codec, &cfg->level, why, len);
}

static int set_log_level(struct config *cfg, const char *v, char *why,
			 size_t len)
{
	int level = config_log_level(v);

	if (level < 0) {
		snprintf(why, len, "log-level must be err, warn, info or debug, "
			 "not '%s'", v);
		return -EINVAL;
	}
	cfg->log_level = level;
	return 0;
}

/* A whole number in [@min, @max] to *@out; -EINVAL if @v is not one. */
static int parse_count(const char *v, unsigned long min, unsigned long max,
		       unsigned *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno || n < min || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

/* @key=@v, a whole number from 1 to @max (@unit in the message). */
static int set_range(const char *key, const char *v, unsigned long min,
		     unsigned long max, const char *unit, unsigned *out,
		     char *why, size_t len)
{
	if (!parse_count(v, min, max, out))
		return 0;
	snprintf(why, len, "%s must be %lu to %lu%s, not '%s'", key, min, max,
		 unit, v);
	return -EINVAL;
}

static int set_count(const char *key, const char *v, unsigned long max,
		     const char *unit, unsigned *out, char *why, size_t len)
{
	return set_range(key, v, 1, max, unit, out, why, len);
}

static int set_evict_timeout(struct config *cfg, const char *v, char *why,
			     size_t len)
{
	return set_count("evict-timeout", v, UZ_EVICT_TIMEOUT_MAX, " seconds",
			 &cfg->evict_timeout, why, len);
}

static int set_user_connections(struct config *cfg, const char *v, char *why,
				size_t len)
{
	return set_count("user-connections", v, UZ_USER_CONNECTIONS_MAX, "",
			 &cfg->user_connections, why, len);
}

static int set_auto(struct auto_config *a, const char *v, char *why, size_t len)
{
	if (!strcmp(v, "on") || !strcmp(v, "off")) {
		a->on = v[1] == 'n';
		return 0;
	}
	snprintf(why, len, "auto must be on or off, not '%s'", v);
	return -EINVAL;
}

static int set_auto_interval(struct auto_config *a, const char *v, char *why,
			     size_t len)
{
	/* below 100 ms the smaps walk of each step would be most of it */
	return set_range("auto-interval", v, 100, 600000, " ms", &a->interval_ms,
			 why, len);
}

static int set_auto_step(struct auto_config *a, const char *v, char *why,
			 size_t len)
{
	return set_count("auto-step", v, 100, " %", &a->step_pct, why, len);
}

static int set_auto_guard(struct auto_config *a, const char *v, char *why,
			  size_t len)
{
	return set_count("auto-guard", v, 86400, " seconds", &a->guard_s, why, len);
}

static int set_auto_pressure(struct auto_config *a, const char *v, char *why,
			     size_t len)
{
	return set_count("auto-pressure", v, 100, " %", &a->pressure_pct, why, len);
}

static int set_auto_refaults(struct auto_config *a, const char *v, char *why,
			     size_t len)
{
	return set_count("auto-refaults", v, 100, " %", &a->refault_pct, why, len);
}

static int set_min_age(struct auto_config *a, const char *v, char *why,
		       size_t len)
{
	return set_range("min-age", v, 0, 3600, " seconds", &a->min_age_s, why,
			 len);
}

static int set_readahead(struct auto_config *a, const char *v, char *why,
			 size_t len)
{
	return set_range("readahead", v, 0, UZ_REFILL_READAHEAD_MAX, " blocks",
			 &a->readahead, why, len);
}

static int set_finish_after(struct auto_config *a, const char *v, char *why,
			    size_t len)
{
	return set_count("finish-after", v, UZ_REFILL_FINISH_MAX, " refills",
			 &a->finish_after, why, len);
}

static int set_limit_hold(struct auto_config *a, const char *v, char *why,
			  size_t len)
{
	if (!strcmp(v, "off")) {
		a->hold_ms = 0;
		return 0;
	}
	return set_range("limit-hold", v, 0, UZ_AUTO_HOLD_MAX, " ms (or off)",
			 &a->hold_ms, why, len);
}

/* target=SIZE (4G, 512M) or target=N% of the cgroup's memory limit;
 * "none" takes back a target set before (a section's over [daemon]'s) */
static int set_target(struct auto_config *a, const char *v, char *why,
		      size_t len)
{
	size_t n = strlen(v);
	uint64_t bytes;

	if (!strcmp(v, "none")) {
		a->target_bytes = 0;
		a->target_pct = 0;
		return 0;
	}
	if (v[n - 1] == '%') {
		char num[8];

		if (n - 1 < sizeof(num)) {
			memcpy(num, v, n - 1);
			num[n - 1] = 0;
			if (!parse_count(num, 1, 100, &a->target_pct)) {
				a->target_bytes = 0;
				return 0;
			}
		}
	} else if (!size_parse(v, 0, &bytes) && bytes >= UZ_BLOCK_SIZE) {
		a->target_bytes = bytes;
		a->target_pct = 0;
		return 0;
	}
	snprintf(why, len, "target must be a size of 2M or more (512M, 4G), "
		 "1%% to 100%% of the cgroup's limit, or none, not '%s'", v);
	return -EINVAL;
}

/* The automatic loop's keys: in [daemon], and all but auto-interval
 * in [cgroup PATH] and [unit NAME] sections (bit: AUTO_KEY_). */
static const struct auto_key {
	const char *name;
	unsigned bit;
	int (*set)(struct auto_config *a, const char *value, char *why,
		   size_t len);
} auto_keys[] = {
	{ "auto", AUTO_KEY_ON, set_auto },
	{ "auto-interval", AUTO_KEY_INTERVAL, set_auto_interval },
	{ "auto-step", AUTO_KEY_STEP, set_auto_step },
	{ "auto-guard", AUTO_KEY_GUARD, set_auto_guard },
	{ "auto-pressure", AUTO_KEY_PRESSURE, set_auto_pressure },
	{ "auto-refaults", AUTO_KEY_REFAULTS, set_auto_refaults },
	{ "target", AUTO_KEY_TARGET, set_target },
	{ "min-age", AUTO_KEY_MIN_AGE, set_min_age },
	{ "readahead", AUTO_KEY_READAHEAD, set_readahead },
	{ "finish-after", AUTO_KEY_FINISH, set_finish_after },
	{ "limit-hold", AUTO_KEY_HOLD, set_limit_hold },
};

/* One word of allow=: all, user:NAME|UID, group:NAME|GID, unit:NAME. */
static int allow_word(struct allow_rule *r, const char *w, char *why, size_t len)
{
	const char *v = strchr(w, ':');
	char *end;
	unsigned long id;

	memset(r, 0, sizeof(*r));
	if (!strcmp(w, "all")) {
		r->kind = ALLOW_ALL;
		return 0;
	}
	if (!v || !v[1])
		goto bad;
	v++;
	if (!strncmp(w, "unit:", 5)) {
		if (strlen(v) >= sizeof(r->unit) || strchr(v, '/'))
			goto bad;
		r->kind = ALLOW_UNIT;
		strcpy(r->unit, v);
		return 0;
	}
	if (strncmp(w, "user:", 5) && strncmp(w, "group:", 6))
		goto bad;
	r->kind = w[0] == 'u' ? ALLOW_USER : ALLOW_GROUP;
	errno = 0;
	id = strtoul(v, &end, 10);
	if (isdigit((unsigned char)v[0]) && !*end && !errno && id < 0xffffffffUL) {
		r->id = (unsigned)id;
		return 0;
	}
	if (r->kind == ALLOW_USER) {
		const struct passwd *pw = getpwnam(v);

		if (!pw) {
			snprintf(why, len, "no user '%s'", v);
			return -EINVAL;
		}
		r->id = pw->pw_uid;
	} else {
		const struct group *gr = getgrnam(v);

		if (!gr) {
			snprintf(why, len, "no group '%s'", v);
			return -EINVAL;
		}
		r->id = gr->gr_gid;
	}
	return 0;
bad:
	snprintf(why, len, "'%s' is not all, user:NAME, group:NAME or unit:NAME",
		 w);
	return -EINVAL;
}

/* A list of allow_word()s into @rules (UZ_ALLOW_MAX), *@n set. */
static int rule_list(const char *key, const char *value, struct allow_rule *rules,
		     unsigned *n, char *why, size_t len)
{
	static struct allow_rule tmp[UZ_ALLOW_MAX];
	char buf[1024], *w, *save;
	unsigned k = 0;
	int err;

	if (strlen(value) >= sizeof(buf)) {
		snprintf(why, len, "%s: longer than %zu bytes", key, sizeof(buf) - 1);
		return -EINVAL;
	}
	strcpy(buf, value);
	for (w = strtok_r(buf, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save)) {
		if (k == UZ_ALLOW_MAX) {
			snprintf(why, len, "%s: more than %d entries", key, UZ_ALLOW_MAX);
			return -EINVAL;
		}
		err = allow_word(&tmp[k++], w, why, len);
		if (err)
			return err;
	}
	memcpy(rules, tmp, k * sizeof(*tmp));
	*n = k;
	return 0;
}

int config_set_allow(struct config *cfg, const char *value, char *why,
		     size_t len)
{
	int err = rule_list("allow", value, cfg->allow, &cfg->n_allow, why, len);

	if (!err)
		cfg->allow_set = 1;
	return err;
}

static int set_allow(struct config *cfg, const char *v, char *why, size_t len)
{
	return config_set_allow(cfg, v, why, len);
}

static int set_admin(struct config *cfg, const char *v, char *why, size_t len)
{
	return rule_list("admin", v, cfg->admin, &cfg->n_admin, why, len);
}

/* The keys of [daemon]; one entry per setting. */
static const struct config_key {
	const char *name;
	int (*set)(struct config *cfg, const char *value, char *why,
		   size_t len);
} daemon_keys[] = {
	{ "socket", set_socket },
	{ "codec", set_codec },
	{ "log-level", set_log_level },
	{ "evict-timeout", set_evict_timeout },
	{ "user-connections", set_user_connections },
	{ "allow", set_allow },
	{ "admin", set_admin },
};

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* Where the lines of a file go: no section yet, [daemon], or the
 * cgroup rule of that index */
#define SECTION_NONE (-2)
#define SECTION_DAEMON (-1)

/* A "[...]" line, brackets cut off: the section it opens into *@section. */
static int parse_section(struct config *cfg, const char *s, int *section,
			 char *why, size_t len)
{
	if (!strcmp(s, "daemon")) {
		*section = SECTION_DAEMON;
		return 0;
	}
	if (!strncmp(s, "cgroup", 6) && isspace((unsigned char)s[6]))
		return cg_rule_section(cfg, CG_RULE_PATH, trim((char *)s + 7),
				       section, why, len);
	if (!strncmp(s, "unit", 4) && isspace((unsigned char)s[4]))
		return cg_rule_section(cfg, CG_RULE_UNIT, trim((char *)s + 5),
				       section, why, len);
	snprintf(why, len, "unknown section [%s] (daemon, cgroup PATH or "
		 "unit NAME)", s);
	return -EINVAL;
}

/* @key=@value of the automatic loop in @section; -ENOENT: no such key */
static int set_auto_key(struct config *cfg, int section, const char *key,
			const char *value, char *why, size_t len)
{
	struct cg_rule *r = section >= 0 ? &cfg->cg[section] : NULL;
	size_t i;
	int err;

	for (i = 0; i < sizeof(auto_keys) / sizeof(auto_keys[0]); i++) {
		if (strcmp(key, auto_keys[i].name))
			continue;
		if (!r)
			return auto_keys[i].set(&cfg->autoev, value, why, len);
		if (auto_keys[i].bit == AUTO_KEY_INTERVAL) {
			snprintf(why, len, "auto-interval is for [daemon] only: "
				 "one loop looks at every cgroup");
			return -EINVAL;
		}
		err = auto_keys[i].set(&r->a, value, why, len);
		if (!err)
			r->given |= auto_keys[i].bit;
		return err;
	}
	return -ENOENT;
}

/* One line of a file; @section tracks where it goes.  0 or -EINVAL. */
static int parse_line(struct config *cfg, char *line, int *section,
		      char *why, size_t len)
{
	char *s = trim(line), *eq, *key, *value;
	size_t i;
	int err;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if (s[strlen(s) - 1] != ']') {
			snprintf(why, len, "section header without ']'");
			return -EINVAL;
		}
		s[strlen(s) - 1] = 0;
		return parse_section(cfg, trim(s + 1), section, why, len);
	}
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(why, len, "expected key=value or [section]");
		return -EINVAL;
	}
	*eq = 0;
	key = trim(s);
	value = trim(eq + 1);
	if (*section == SECTION_NONE) {
		snprintf(why, len, "'%s' outside a section (add [daemon])", key);
		return -EINVAL;
	}
	if (!*value) {
		snprintf(why, len, "empty value for %s", key);
		return -EINVAL;
	}
	err = set_auto_key(cfg, *section, key, value, why, len);
	if (err != -ENOENT)
		return err;
	if (*section >= 0) {
		snprintf(why, len, "unknown key '%s' in [%s %s] (auto, target, "
			 "auto-step, auto-guard, auto-pressure, auto-refaults, min-age)", key,
			 cfg->cg[*section].kind == CG_RULE_PATH ? "cgroup" : "unit",
			 cfg->cg[*section].name);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(daemon_keys) / sizeof(daemon_keys[0]); i++)
		if (!strcmp(key, daemon_keys[i].name))
			return daemon_keys[i].set(cfg, value, why, len);
	snprintf(why, len, "unknown key '%s' in [daemon]", key);
	return -EINVAL;
}

/*
 * A line of @f into @line (@size bytes, NUL-terminated) as fgets()
 * reads it, its length in *@len: fgets() does not say how many bytes
 * it read, and strlen() stops at a NUL byte.  0 at the end of @f.
 */
static int read_line(char *line, size_t size, FILE *f, size_t *len)
{
	size_t n = 0;
	int c;

	while (n < size - 1 && (c = getc(f)) != EOF) {
		line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	line[n] = 0;
	*len = n;
	return n && !ferror(f);
}

int config_parse(struct config *cfg, FILE *f, const char *name, char *cause,
		 size_t cause_len)
{
	char line[UZ_CONFIG_LINE_MAX], why[200];
	int section = SECTION_NONE, lineno = 0, err = 0;
	const char *bad;
	size_t n;

	while (read_line(line, sizeof(line), f, &n)) {
		lineno++;
		bad = NULL;
		if (strlen(line) < n) /* not text: say so, not "too long" */
			bad = "NUL byte in line";
		else if (line[n - 1] != '\n' && !feof(f))
			bad = "line too long";
		if (bad) {
			snprintf(cause, cause_len, "%s:%d: %s", name, lineno,
				 bad);
			return -EINVAL;
		}
		why[0] = 0;
		err = parse_line(cfg, line, &section, why, sizeof(why));
		if (err) {
			snprintf(cause, cause_len, "%s:%d: %s", name, lineno,
				 why[0] ? why : strerror(-err));
			return err;
		}
	}
	if (ferror(f)) {
		snprintf(cause, cause_len, "%s: read error", name);
		return -EIO;
	}
	return 0;
}

/* Parse one file into @cfg; a missing file is -ENOENT with no cause. */
static int parse_file(struct config *cfg, const char *path, char *cause,
		      size_t cause_len)
{
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		if (err != -ENOENT)
			snprintf(cause, cause_len, "%s: %s", path,
				 strerror(-err));
		return err;
	}
	err = config_parse(cfg, f, path, cause, cause_len);
	fclose(f);
	return err;
}

static int is_dropin(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	       !strcmp(d->d_name + n - 5, ".conf");
}

/* The drop-ins of @path.d in name order; a missing directory is fine. */
static int parse_dropins(struct config *cfg, const char *path, char *cause,
			 size_t cause_len)
{
	char dir[4096], file[4096 + 256];
	struct dirent **names;
	int n, i, err = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s.d", path) >= sizeof(dir))
		return 0;
	n = scandir(dir, &names, is_dropin, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, names[i]->d_name);
		if (!err) {
			err = parse_file(cfg, file, cause, cause_len);
			if (err == -ENOENT) /* raced with its removal */
				err = 0;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int config_load(struct config *cfg, const char *path, int must_exist,
		char *cause, size_t cause_len)
{
	struct config next = *cfg;
	int err;

	err = parse_file(&next, path, cause, cause_len);
	if (err == -ENOENT && must_exist) {
		snprintf(cause, cause_len, "%s: %s", path, strerror(ENOENT));
		return err;
	}
	if (err && err != -ENOENT)
		return err;
	err = parse_dropins(&next, path, cause, cause_len);
	if (err)
		return err;
	*cfg = next;
	return 0;
}
