/* SPDX-License-Identifier: MIT */
/* uzswapd.conf: the [daemon] settings, their defaults and the parser. */
#ifndef UZD_CONFIG_H
#define UZD_CONFIG_H

#include <stddef.h>
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
/* The automatic loop (autoevict.c); the defaults are in config.c. */
struct auto_config {
	int on;		     /* auto= */
	unsigned interval_ms; /* auto-interval=: a step at most this often */
	unsigned step_pct;   /* auto-step=: % of a client's managed memory */
	unsigned guard_s;    /* auto-guard=: a block brought back stays that long */
	unsigned pressure_pct; /* auto-pressure=: PSI "some" avg10 to back off at */
	unsigned refault_pct;  /* auto-refaults=: % of a step that came back */
};
#define UZ_AUTO_INTERVAL_DEFAULT 2000 /* ms */
#define UZ_AUTO_STEP_DEFAULT 5	      /* % */
#define UZ_AUTO_GUARD_DEFAULT 60      /* s */
#define UZ_AUTO_PRESSURE_DEFAULT 10   /* % */
#define UZ_AUTO_REFAULT_DEFAULT 25    /* % */

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
