/* SPDX-License-Identifier: MIT */
/* uzswapd.conf: the [daemon] settings, their defaults and the parser. */
#ifndef UZD_CONFIG_H
#define UZD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define UZ_CONFIG_DEFAULT "/etc/uzswap/uzswapd.conf"
#define UZ_CONFIG_LINE_MAX 4096 /* bytes of a line, with its newline and NUL */
#define UZ_EVICT_TIMEOUT_DEFAULT 120 /* seconds */
#define UZ_EVICT_TIMEOUT_MAX 86400
#define UZ_USER_CONNECTIONS_MAX 1000000
#define UZ_ALLOW_MAX 64 /* entries of allow= */
#define UZ_ALLOW_GROUP "uzswap" /* allowed by default, when it exists */

/* One entry of allow=: who may opt in besides those always allowed. */
struct allow_rule {
	enum { ALLOW_ALL, ALLOW_USER, ALLOW_GROUP, ALLOW_UNIT } kind;
	unsigned id;	    /* uid or gid */
	char unit[64];	    /* a systemd unit, matched in the cgroup path */
};
/* The automatic loop (autoevict.c); the defaults are in config.c.  The
 * same keys, but auto-interval, may be set per cgroup (struct cg_rule). */
struct auto_config {
	int on;		     /* auto= */
	unsigned interval_ms; /* auto-interval=: a step at most this often */
	unsigned step_pct;   /* auto-step=: % of a client's managed memory */
	unsigned guard_s;    /* auto-guard=: a block brought back stays that long */
	unsigned pressure_pct; /* auto-pressure=: PSI "some" avg10 to back off at */
	unsigned refault_pct;  /* auto-refaults=: % of a step that came back */
	unsigned min_age_s;    /* min-age=: a sampled block stays uncompressed
				* (the inactive list) this long; 0: none */
	unsigned readahead;    /* readahead=: blocks restored ahead of a
				* sequential reader (the agent's refill.c) */
	unsigned finish_after; /* finish-after=: 64 KB refills in a row that
				* bring the rest of a block back */
	unsigned hold_ms;      /* limit-hold=: a limit step holds the program's
				* threads at most this long (hold.c); 0: never */
	uint64_t target_bytes; /* target=SIZE: a cgroup's usage to stop at; */
	unsigned target_pct;   /* target=N%: that, as % of its limit (0: none) */
};
#define UZ_AUTO_INTERVAL_DEFAULT 2000 /* ms */
#define UZ_AUTO_STEP_DEFAULT 5	      /* % */
#define UZ_AUTO_GUARD_DEFAULT 60      /* s */
#define UZ_AUTO_PRESSURE_DEFAULT 10   /* % */
#define UZ_AUTO_REFAULT_DEFAULT 25    /* % */
#define UZ_AUTO_MIN_AGE_DEFAULT 5     /* s */
#define UZ_AUTO_HOLD_DEFAULT 2000     /* ms */
#define UZ_AUTO_HOLD_MAX 10000

/* A [cgroup PATH] or [unit NAME] section: the automatic loop's settings
 * for the clients in that memory cgroup (or below it), over [daemon]'s.
 * Matched by cgrules.c. */
#define UZ_CG_RULES_MAX 64
#define UZ_CG_NAME_MAX 256
struct cg_rule {
	enum { CG_RULE_PATH, CG_RULE_UNIT } kind;
	char name[UZ_CG_NAME_MAX]; /* a cgroup path ("/a/b") or a unit name */
	unsigned given;		   /* the AUTO_KEY_ bits set in the section */
	struct auto_config a;	   /* those keys' values */
};
/* The keys a section can set, as bits of cg_rule.given. */
enum {
	AUTO_KEY_ON = 1 << 0,
	AUTO_KEY_STEP = 1 << 1,
	AUTO_KEY_GUARD = 1 << 2,
	AUTO_KEY_PRESSURE = 1 << 3,
	AUTO_KEY_REFAULTS = 1 << 4,
	AUTO_KEY_TARGET = 1 << 5,
	AUTO_KEY_INTERVAL = 1 << 6, /* [daemon] only */
	AUTO_KEY_MIN_AGE = 1 << 7,
	AUTO_KEY_READAHEAD = 1 << 8,
	AUTO_KEY_FINISH = 1 << 9,
	AUTO_KEY_HOLD = 1 << 10,
};

#define UZ_SOCKET_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

struct config {
	char socket[UZ_SOCKET_PATH_MAX]; /* "" when not set */
	int codec;			 /* enum uz_codec_id */
	int level;
	int log_level; /* enum uz_log_level */
	unsigned evict_timeout;
	unsigned user_connections; /* per non-root user; 0: a quarter */
	int allow_set;		   /* allow= given (else the default) */
	unsigned n_allow;
	struct allow_rule allow[UZ_ALLOW_MAX];
	unsigned n_admin;	   /* admin=: may see and act on everyone */
	struct allow_rule admin[UZ_ALLOW_MAX];
	struct auto_config autoev;
	unsigned n_cg;			   /* [cgroup PATH] and [unit NAME] */
	struct cg_rule cg[UZ_CG_RULES_MAX];
};

/* Parse an allow= value (also uzswapd --allow) into @cfg.  0, or -EINVAL
 * with the reason in @why. */
int config_set_allow(struct config *cfg, const char *value, char *why,
		     size_t len);

/* The built-in defaults: lz4, log level info, evict-timeout 120 s. */
void config_defaults(struct config *cfg);

/*
 * Read @path, then the drop-ins @path.d/ *.conf in name order (later
 * wins), over what @cfg holds.  A missing @path is fine unless
 * @must_exist.  @cfg is only changed when everything parsed.  Returns 0,
 * or -errno with "FILE:LINE: reason" in @cause.
 */
int config_load(struct config *cfg, const char *path, int must_exist,
		char *cause, size_t cause_len);

/*
 * Parse the lines of @f (a file called @name in messages) over @cfg,
 * which is left part-changed on an error: config_load() parses a copy.
 * Returns 0, or -EINVAL ("NAME:LINE: reason" in @cause) or -EIO.
 */
int config_parse(struct config *cfg, FILE *f, const char *name, char *cause,
		 size_t cause_len);

/* "err", "warn", "info" or "debug" to a log level, or -EINVAL. */
int config_log_level(const char *name);
/* The name of log level @level. */
const char *config_log_level_name(int level);

#endif
