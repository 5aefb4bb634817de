/* SPDX-License-Identifier: MIT */
/*
 * Users with subordinate uids (/etc/subuid) count as one.  A user given
 * a range of uids for their user namespaces (newuidmap) can connect as
 * each of them; counted apart, they would hold a share of the daemon's
 * connections per uid of the range.  Read at start and on reload.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "subids.h"

#define SUBUID_FILE "/etc/subuid"

static struct range {
	uid_t first, last, owner;
} *ranges;
static unsigned n_ranges;

/* "name" or "uid" -> uid; -1 when unknown */
static long owner_uid(const char *who)
{
	struct passwd pw, *found = NULL;
	char buf[16384], *end;
	long v = strtol(who, &end, 10);

	if (*who && !*end)
		return v >= 0 && v <= 0x7fffffffL ? v : -1;
	if (getpwnam_r(who, &pw, buf, sizeof(buf), &found) || !found)
		return -1;
	return (long)found->pw_uid;
}

/* One "owner:first:count" line into @r; 0, or -1 when it is not one. */
static int parse_line(char *line, struct range *r)
{
	char *first = strchr(line, ':'), *count, *end;
	unsigned long long f, n;
	long owner;

	if (!first)
		return -1;
	*first++ = 0;
	count = strchr(first, ':');
	if (!count)
		return -1;
	*count++ = 0;
	count[strcspn(count, "\n")] = 0;
	/* digits only: strtoull takes a sign and wraps */
	if (!isdigit((unsigned char)*first) || !isdigit((unsigned char)*count))
		return -1;
	f = strtoull(first, &end, 10);
	if (*end || f > 0xfffffffeull)
		return -1;
	n = strtoull(count, &end, 10);
	if (*end || !n || n > 0xffffffffull - f)
		return -1;
	owner = owner_uid(line);
	if (owner < 0)
		return -1;
	r->first = (uid_t)f;
	r->last = (uid_t)(f + n - 1);
	/* root's ranges (LXD, Incus) are its containers': each range gets
	 * one share of its own, never root's unlimited one */
	r->owner = owner ? (uid_t)owner : r->first;
	return 0;
}

int subids_load(void)
{
	const char *path = getenv("UZSWAPD_SUBUID_FILE"); /* for tests */
	struct range *got = NULL, *grown, r;
	unsigned n = 0, bad = 0;
	char line[512];
	FILE *f;

	if (!path || !*path)
		path = SUBUID_FILE;
	f = fopen(path, "re");
	if (!f && errno != ENOENT) {
		log_warn("%s: %s; the ranges read before stay", path,
			 strerror(errno));
		return -errno;
	}
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_line(line, &r)) {
			bad++;
			continue;
		}
		grown = realloc(got, (n + 1) * sizeof(*got));
		if (!grown)
			break;
		got = grown;
		got[n++] = r;
	}
	if (f)
		fclose(f);
	if (bad)
		log_warn("%s: %u line(s) not understood, ignored", path, bad);
	free(ranges);
	ranges = got;
	n_ranges = n;
	return 0;
}

uid_t subids_owner(uid_t uid)
{
	unsigned i;

	if (uid == 0)
		return 0; /* root keeps its reserve, whatever the file says */
	for (i = 0; i < n_ranges; i++)
		if (uid >= ranges[i].first && uid <= ranges[i].last)
			return ranges[i].owner;
	return uid;
}
