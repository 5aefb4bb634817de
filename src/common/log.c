/* SPDX-License-Identifier: MIT */
/* Logging to stderr, one write(2) per line, shared by all programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define UZ_LOG_LINE_MAX 1024

static const char *log_ident = "uzswap";
static int log_max = UZ_LOG_INFO;
static int log_journal; /* stderr is the journal: prefix "<level>" */

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it gave us;
 * when stderr is that stream, a "<N>" prefix sets the line's priority. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st))
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *ident, int max)
{
	if (ident && *ident)
		log_ident = ident;
	log_max = max;
	log_journal = stderr_is_journal();
}

int log_level(void)
{
	return log_max;
}

/* Format one line into a stack buffer and write it with one write(2),
 * so that lines from threads and processes never interleave and
 * logging never allocates. */
static void log_write(int level, const char *fmt, va_list ap)
{
	char line[UZ_LOG_LINE_MAX];
	size_t n = 0;
	int r, saved = errno;

	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>", level);
		n = r > 0 ? (size_t)r : 0;
	}
	r = snprintf(line + n, sizeof(line) - n, "%s[%d]: ", log_ident,
		     (int)getpid());
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line)) {
		/* truncated: mark it, keep the newline */
		n = sizeof(line) - 1;
		memcpy(line + n - 3, "...", 3);
	} else if (n && line[n - 1] == '\n') {
		n--;
	}
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
	errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(UZ_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Racy between threads on purpose: a line more or less is harmless. */
int log_limit_pass(struct log_limit *l, unsigned burst, unsigned period_s,
		   unsigned *dropped)
{
	struct timespec ts;
	unsigned long window;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	window = (unsigned long)ts.tv_sec / (period_s ? period_s : 1);
	*dropped = 0;
	if (window != l->window) {
		l->window = window;
		l->count = 0;
	}
	if (l->count >= burst) {
		l->dropped++;
		return 0;
	}
	l->count++;
	*dropped = l->dropped;
	l->dropped = 0;
	return 1;
}

/* Per kind and uid (log_limited_uid): a small table, each entry a burst
 * of one user's lines of one kind, and when every entry is busy in its
 * period, a few shared by all other users, one per kind ("other uids").
 * Daemon thread only. */
#define UID_LIMITS 64
#define OTHER_LIMITS 8
#define OTHER_UIDS ((unsigned)-1)
static struct uid_limit {
	const char *kind; /* NULL: free */
	unsigned uid, period_s;
	int level;
	struct log_limit l;
} uid_limits[UID_LIMITS + OTHER_LIMITS];

static unsigned long window_now(unsigned period_s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec / (period_s ? period_s : 1);
}

static void uid_limit_summary(struct uid_limit *u)
{
	if (u->l.dropped && u->uid == OTHER_UIDS)
		log_msg(u->level, "other uids: %u more \"%s\" lines not logged "
			"in %u s", u->l.dropped, u->kind, u->period_s);
	else if (u->l.dropped)
		log_msg(u->level, "uid %u: %u more \"%s\" lines not logged "
			"in %u s", u->uid, u->l.dropped, u->kind, u->period_s);
	u->l.dropped = 0;
}

/* The entry all other users of @kind share, or NULL. */
static struct uid_limit *other_uids(const char *kind)
{
	struct uid_limit *u;

	for (u = uid_limits + UID_LIMITS; u < uid_limits + UID_LIMITS + OTHER_LIMITS; u++) {
		if (u->kind == kind)
			return u;
		if (!u->kind) {
			u->kind = kind;
			u->uid = OTHER_UIDS;
			return u;
		}
	}
	return NULL;
}

static struct uid_limit *uid_limit_find(const char *kind, unsigned uid,
					unsigned period_s)
{
	struct uid_limit *u, *spare = NULL, *other;

	for (u = uid_limits; u < uid_limits + UID_LIMITS; u++) {
		if (u->kind == kind && u->uid == uid)
			return u;
		/* a free entry, else the one whose burst is oldest */
		if (!spare || (spare->kind && (!u->kind || u->l.window < spare->l.window)))
			spare = u;
	}
	/* every user's entry still counts its period: taking one would give
	 * the newcomer a fresh burst each time (no limit at all) */
	if (spare->kind && spare->l.window == window_now(spare->period_s) &&
	    (other = other_uids(kind)))
		return other;
	if (spare->kind)
		uid_limit_summary(spare);
	memset(spare, 0, sizeof(*spare));
	spare->kind = kind;
	spare->uid = uid;
	spare->period_s = period_s;
	return spare;
}

int log_limit_uid_pass(const char *kind, int level, unsigned uid,
		       unsigned burst, unsigned period_s)
{
	struct uid_limit *u;
	unsigned dropped;

	if (level > log_max)
		return 0;
	period_s = period_s ? period_s : 1;
	u = uid_limit_find(kind, uid, period_s);
	u->level = level;
	u->period_s = period_s;
	if (u->l.window != window_now(u->period_s))
		uid_limit_summary(u); /* said before the new burst */
	return log_limit_pass(&u->l, burst, u->period_s, &dropped);
}

long log_limit_summaries(int all)
{
	struct uid_limit *u;
	struct timespec ts;
	long next = -1;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (u = uid_limits; u < uid_limits + UID_LIMITS + OTHER_LIMITS; u++) {
		long end_ms;

		if (!u->kind || !u->l.dropped)
			continue;
		if (all || u->l.window != window_now(u->period_s)) {
			uid_limit_summary(u);
			continue;
		}
		end_ms = (long)((u->l.window + 1) * u->period_s - (unsigned long)ts.tv_sec) * 1000;
		if (next < 0 || end_ms < next)
			next = end_ms;
	}
	return next;
}
