/* SPDX-License-Identifier: MIT */
/*
 * Connections per user.  Any local user may connect (to opt in), so one
 * user's flood, or many programs of one user under the agent, must not
 * take every connection: each non-root user gets a share, and a reserve
 * is kept for root.  Users with connections open are few; a list does.
 */
#include <stdlib.h>

#include "peruid.h"

static struct user {
	uid_t uid;
	unsigned open;
} *users;
static unsigned n_users, cap_users;

static struct user *find(uid_t uid)
{
	unsigned i;

	for (i = 0; i < n_users; i++)
		if (users[i].uid == uid)
			return &users[i];
	return NULL;
}

int peruid_allowed(uid_t uid, unsigned open, unsigned max, unsigned per_user)
{
	unsigned reserve = max / 16 ? max / 16 : 1;
	const struct user *u;

	if (!per_user)
		per_user = max / 4 ? max / 4 : 1;
	if (uid == 0)
		return open < max;
	if (open + reserve >= max)
		return 0;
	u = find(uid);
	return !u || u->open < per_user;
}

void peruid_opened(uid_t uid)
{
	struct user *u = find(uid), *grown;

	if (u) {
		u->open++;
		return;
	}
	if (n_users == cap_users) {
		grown = realloc(users, (cap_users * 2 + 16) * sizeof(*users));
		if (!grown)
			return; /* uncounted: the cap of all connections holds */
		users = grown;
		cap_users = cap_users * 2 + 16;
	}
	users[n_users].uid = uid;
	users[n_users].open = 1;
	n_users++;
}

void peruid_closed(uid_t uid)
{
	struct user *u = find(uid);

	if (u && !--u->open)
		*u = users[--n_users];
}
