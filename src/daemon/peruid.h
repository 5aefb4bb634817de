/* SPDX-License-Identifier: MIT */
/* Connections per user: no one user can lock the others out. */
#ifndef UZD_PERUID_H
#define UZD_PERUID_H

#include <sys/types.h>

/* May @uid open one more connection, @open being open now and @max the
 * daemon's limit?  Root may use all of @max; other users leave a
 * sixteenth for root (uzswapctl must work during a flood) and may each
 * hold @per_user (0: a quarter of @max). */
int peruid_allowed(uid_t uid, unsigned open, unsigned max, unsigned per_user);
/* Count one connection of @uid opened / closed. */
void peruid_opened(uid_t uid);
void peruid_closed(uid_t uid);

#endif
