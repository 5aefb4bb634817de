/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the uzswapd.conf parser: the input is the text of a file, read
 * through fmemopen() as config_load() reads a real one.  A file it
 * accepts must have no NUL byte and no line too long, hold only values
 * the daemon can use, and mean the same when written back out and
 * parsed again; a file it refuses must say on which line and why, and
 * a line it calls too long or binary must be so.  The input's first
 * line also goes to config_set_allow(), as `uzswapd --allow` passes it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "config.h"
#include "fuzz.h"

#define FZ_NAME "fuzz.conf"
#define FZ_TEXT_MAX 8192 /* a written-back config fits easily */

/* Values the daemon can use, whatever the file said. */
static void check_rules(const struct allow_rule *r, unsigned n)
{
	unsigned i;

	fuzz_assert(n <= UZ_ALLOW_MAX);
	for (i = 0; i < n; i++, r++) {
		switch (r->kind) {
		case ALLOW_ALL:
			break;
		case ALLOW_USER:
		case ALLOW_GROUP:
			fuzz_assert(r->id != 0xffffffffu); /* (uid_t)-1 */
			break;
		case ALLOW_UNIT:
			fuzz_assert(memchr(r->unit, 0, sizeof(r->unit)));
			fuzz_assert(r->unit[0] && !strpbrk(r->unit, "/ ,\t"));
			break;
		default:
			fuzz_assert(0);
		}
	}
}

static void check_sane(const struct config *cfg)
{
	const struct codec_ops *ops = codec_ops_by_id(cfg->codec);

	fuzz_assert(memchr(cfg->socket, 0, sizeof(cfg->socket)));
	fuzz_assert(!cfg->socket[0] || cfg->socket[0] == '/');
	fuzz_assert(ops && cfg->level >= ops->min_level &&
		    cfg->level <= ops->max_level);
	fuzz_assert(strcmp(config_log_level_name(cfg->log_level), "?"));
	fuzz_assert(cfg->evict_timeout >= 1 &&
		    cfg->evict_timeout <= UZ_EVICT_TIMEOUT_MAX);
	fuzz_assert(cfg->user_connections <= UZ_USER_CONNECTIONS_MAX);
	fuzz_assert(cfg->allow_set || !cfg->n_allow);
	check_rules(cfg->allow, cfg->n_allow);
	check_rules(cfg->admin, cfg->n_admin);
}

/*
 * A list as "key=w,w,...,\n", the last comma keeping a unit's trailing
 * \v or \f, which trim() would take from the end of a line.  Its
 * length, or 0 when the value is longer than a list may be (names
 * become numbers, which can be longer).
 */
static size_t put_rules(char *p, size_t cap, const char *key,
			const struct allow_rule *r, unsigned n)
{
	size_t at = (size_t)snprintf(p, cap, "%s=", key), start = at;
	unsigned i;

	for (i = 0; i < n && at < cap; i++, r++) {
		if (r->kind == ALLOW_ALL)
			at += (size_t)snprintf(p + at, cap - at, "all,");
		else if (r->kind == ALLOW_UNIT)
			at += (size_t)snprintf(p + at, cap - at, "unit:%s,",
					       r->unit);
		else
			at += (size_t)snprintf(p + at, cap - at, "%s:%u,",
					       r->kind == ALLOW_USER ? "user" :
					       "group", r->id);
	}
	if (!n && at < cap)
		at += (size_t)snprintf(p + at, cap - at, ",");
	if (at - start >= 1024) /* rule_list()'s limit */
		return 0;
	return at + (size_t)snprintf(p + at, cap - at, "\n");
}

/* @cfg as a file with names as numbers, or 0 when it cannot be one. */
static size_t config_write(const struct config *cfg, char *p, size_t cap)
{
	const struct codec_ops *ops = codec_ops_by_id(cfg->codec);
	size_t at, list = 0;

	at = (size_t)snprintf(p, cap, "[daemon]\ncodec=%s:%d\nlog-level=%s\n"
			      "evict-timeout=%u\n", ops->name, cfg->level,
			      config_log_level_name(cfg->log_level),
			      cfg->evict_timeout);
	if (cfg->socket[0])
		at += (size_t)snprintf(p + at, cap - at, "socket=%s\n",
				       cfg->socket);
	if (cfg->user_connections)
		at += (size_t)snprintf(p + at, cap - at,
				       "user-connections=%u\n",
				       cfg->user_connections);
	if (cfg->allow_set &&
	    !(list = put_rules(p + at, cap - at, "allow", cfg->allow,
			       cfg->n_allow)))
		return 0;
	at += list;
	list = 0;
	if (cfg->n_admin &&
	    !(list = put_rules(p + at, cap - at, "admin", cfg->admin,
			       cfg->n_admin)))
		return 0;
	at += list;
	fuzz_assert(at < cap);
	return at;
}

static int rules_equal(const struct allow_rule *a, const struct allow_rule *b,
		       unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (a[i].kind != b[i].kind || a[i].id != b[i].id ||
		    strcmp(a[i].unit, b[i].unit))
			return 0;
	return 1;
}

static int config_equal(const struct config *a, const struct config *b)
{
	return !strcmp(a->socket, b->socket) && a->codec == b->codec &&
	       a->level == b->level && a->log_level == b->log_level &&
	       a->evict_timeout == b->evict_timeout &&
	       a->user_connections == b->user_connections &&
	       a->allow_set == b->allow_set && a->n_allow == b->n_allow &&
	       a->n_admin == b->n_admin &&
	       rules_equal(a->allow, b->allow, a->n_allow) &&
	       rules_equal(a->admin, b->admin, a->n_admin);
}

/* Parse @n bytes of @text over the defaults. */
static int parse(struct config *cfg, const void *text, size_t n, char *cause,
		 size_t cause_len)
{
	FILE *f = fmemopen((void *)text, n, "r");
	int err;

	fuzz_assert(f);
	config_defaults(cfg);
	cause[0] = 0;
	err = config_parse(cfg, f, FZ_NAME, cause, cause_len);
	fclose(f);
	return err;
}

/* What --allow does with the input's first line. */
static void fuzz_allow(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	struct config cfg, before;
	char *value = malloc(n + 1), why[200];

	fuzz_assert(value);
	memcpy(value, data, n);
	value[n] = 0;
	config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof(cfg));
	why[0] = 0;
	if (config_set_allow(&cfg, value, why, sizeof(why))) {
		/* refused with a reason, and nothing changed */
		fuzz_assert(why[0] && !memcmp(&cfg, &before, sizeof(cfg)));
	} else {
		fuzz_assert(cfg.allow_set);
		check_sane(&cfg);
	}
	free(value);
}

/* Line @lineno (from 1) of @data, its length less the newline in *@len;
 * NULL past the end. */
static const uint8_t *nth_line(const uint8_t *data, size_t size,
			       unsigned long lineno, size_t *len)
{
	const uint8_t *p = data, *end = data + size, *nl;

	for (; lineno > 1 && p < end; lineno--) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	if (p == end)
		return NULL;
	nl = memchr(p, '\n', (size_t)(end - p));
	*len = (size_t)((nl ? nl : end) - p);
	return p;
}

/* A refusal: "fuzz.conf:LINE: reason", about a line the input has. */
static void check_refusal(const uint8_t *data, size_t size, const char *cause)
{
	const char *reason;
	const uint8_t *line;
	unsigned long lineno;
	char *end;
	size_t len;

	fuzz_assert(!strncmp(cause, FZ_NAME ":", strlen(FZ_NAME ":")));
	lineno = strtoul(cause + strlen(FZ_NAME ":"), &end, 10);
	fuzz_assert(lineno >= 1 && !strncmp(end, ": ", 2) && end[2]);
	reason = end + 2;
	line = nth_line(data, size, lineno, &len);
	fuzz_assert(line);
	if (!strcmp(reason, "line too long"))
		fuzz_assert(len >= UZ_CONFIG_LINE_MAX - 1);
	if (!strcmp(reason, "NUL byte in line"))
		fuzz_assert(memchr(line, 0, len));
}

/* Every line of an accepted file fits, and none holds a NUL byte. */
static void check_lines(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;

	fuzz_assert(!memchr(data, 0, size));
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		fuzz_assert((size_t)((nl ? nl : end) - p) <
			    UZ_CONFIG_LINE_MAX - 1);
		if (!nl)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[FZ_TEXT_MAX];
	static struct config cfg, again;
	char cause[300];
	size_t n;
	int err;

	fuzz_allow(data, size);
	err = parse(&cfg, data, size, cause, sizeof(cause));
	if (err) {
		fuzz_assert(err == -EINVAL);
		check_refusal(data, size, cause);
		return 0;
	}
	check_lines(data, size);
	check_sane(&cfg);
	n = config_write(&cfg, text, sizeof(text));
	if (!n)
		return 0;
	err = parse(&again, text, n, cause, sizeof(cause));
	fuzz_assert(!err && config_equal(&cfg, &again));
	return 0;
}

/* Files like those people write: etc/uzswapd.conf's settings, spacing,
 * comments and CRLF, every key at its limits, drop-in fragments. */
static const char *const seeds[] = {
	"[daemon]\n",
	"# SPDX-License-Identifier: MIT\n"
	"# /etc/uzswap/uzswapd.conf: settings of uzswapd.\n"
	"\n[daemon]\n\n"
	"# The unix socket agents and uzswapctl connect to.\n"
	"socket=/run/uzswap/uzswapd.sock\n"
	"codec=lz4\n"
	"log-level=info\n"
	"evict-timeout=120\n"
	"allow=group:uzswap\n"
	"user-connections=1024\n",
	"[daemon]\ncodec=zstd:19\nlog-level=debug\nevict-timeout=86400\n"
	"user-connections=1000000\n",
	"; a drop-in\n[ daemon ]\n  codec = zstd  \n\tlog-level\t=\twarn\n",
	"[daemon]\r\nsocket=/tmp/uzswap-1234.sock\r\nlog-level=err\r\n",
	"[daemon]\nallow=user:root group:root,unit:postgresql.service "
	"user:1000\tgroup:0,all\nadmin=group:adm user:0\n",
	"[daemon]\nallow=user:0 user:1 user:2 user:3 user:4 user:5 user:6 "
	"user:7 user:8 user:9 user:10 user:11 user:12 user:13 user:14 "
	"user:15 user:16 user:17 user:18 user:19 user:20 user:21 user:22 "
	"user:23 user:24 user:25 user:26 user:27 user:28 user:29 user:30 "
	"user:31 user:32 user:33 user:34 user:35 user:36 user:37 user:38 "
	"user:39 user:40 user:41 user:42 user:43 user:44 user:45 user:46 "
	"user:47 user:48 user:49 user:50 user:51 user:52 user:53 user:54 "
	"user:55 user:56 user:57 user:58 user:59 user:60 user:61 user:62 "
	"user:63\n",
	"[daemon]\nsocket=/run/uzswap/a-socket-path-of-one-hundred-and-seven-"
	"bytes-the-most-sun-path-takes-0123456789abcdefghijklmnop\n",
	"[daemon]\nallow=unit:a-unit-name-of-sixty-three-bytes-the-most-"
	"allow-takes-1.service\nadmin=, ,\n",
	"group:uzswap unit:user@1000.service\n[daemon]\nevict-timeout=1\n"
	"user-connections=1\ncodec=lz4:1\n",
	"[daemon]\n# later wins\ncodec=zstd:3\ncodec=lz4\nallow=all\n"
	"allow=user:nobody\n",
	"[daemon]\nevict-timeout=0\n",
	"[other]\nkey=value\n",
};

/* The seeds above, then a comment a byte too long for the parser's
 * line buffer: libFuzzer seldom makes a line that long by itself. */
size_t fuzz_seed_input(unsigned i, uint8_t *buf, size_t cap)
{
	static const char head[] = "[daemon]\n#";
	size_t n;

	if (i == sizeof(seeds) / sizeof(seeds[0])) {
		n = sizeof(head) - 2 + UZ_CONFIG_LINE_MAX;
		if (n > cap)
			return 0;
		memcpy(buf, head, sizeof(head) - 1);
		memset(buf + sizeof(head) - 1, 'x', n - sizeof(head));
		buf[n - 1] = '\n';
		return n;
	}
	if (i > sizeof(seeds) / sizeof(seeds[0]))
		return 0;
	n = strlen(seeds[i]);
	if (n > cap)
		return 0;
	memcpy(buf, seeds[i], n);
	return n;
}
