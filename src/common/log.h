/* SPDX-License-Identifier: MIT */
/* Logging to stderr (and syslog-style levels) shared by all programs. */
#ifndef UZ_LOG_H
#define UZ_LOG_H

enum uz_log_level { UZ_LOG_ERR = 3, UZ_LOG_WARN = 4, UZ_LOG_INFO = 6, UZ_LOG_DEBUG = 7 };

/* Prefix every line with @ident; print levels up to @max. */
void log_init(const char *ident, int max);
int log_level(void);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print and exit(1); only during start-up. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * At most @burst lines from one call site per @period_s seconds; the
 * next line after a quiet spell says how many were left out.  For
 * anything a client or the kernel can make happen over and over.
 */
struct log_limit {
	unsigned long window; /* period number of the current burst */
	unsigned count, dropped;
};
int log_limit_pass(struct log_limit *l, unsigned burst, unsigned period_s,
		   unsigned *dropped);
#define log_limited(level, burst, period_s, fmt, ...)                        \
	do {                                                                 \
		static struct log_limit ll_;                                 \
		unsigned dropped_;                                           \
		if (!log_limit_pass(&ll_, burst, period_s, &dropped_))       \
			break;                                               \
		if (dropped_)                                                \
			log_msg(level, fmt " (%u more like it not logged)",  \
				##__VA_ARGS__, dropped_);                    \
		else                                                         \
			log_msg(level, fmt, ##__VA_ARGS__);                  \
	} while (0)

/*
 * The same per @kind and @uid: a flood from one user does not use up the
 * lines another user's trouble gets.  What was left out is said once the
 * period is over, by log_limit_summaries() (@all: now, at exit): it
 returns the ms until the next summary is due, or -1 when none is.  With
 every one of its 64 entries busy, the users beyond share one burst.
 */
int log_limit_uid_pass(const char *kind, int level, unsigned uid,
		       unsigned burst, unsigned period_s);
long log_limit_summaries(int all);
#define log_limited_uid(level, burst, period_s, uid, kind, fmt, ...)        \
	do {                                                                 \
		if (log_limit_uid_pass(kind, level, uid, burst, period_s))   \
			log_msg(level, fmt, ##__VA_ARGS__);                  \
	} while (0)

#define log_err(...) log_msg(UZ_LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(UZ_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(UZ_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(UZ_LOG_DEBUG, __VA_ARGS__)

#endif
