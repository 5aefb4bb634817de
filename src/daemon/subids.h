/* SPDX-License-Identifier: MIT */
/* Users with subordinate uids (/etc/subuid) count as one. */
#ifndef UZD_SUBIDS_H
#define UZD_SUBIDS_H

#include <sys/types.h>

/* (Re)read /etc/subuid ($UZSWAPD_SUBUID_FILE in tests).  A missing file
 * means no ranges, one that cannot be read keeps those read before;
 * lines not understood are said once and skipped.  A range root owns
 * (its containers') counts as one user of its own, not as root. */
int subids_load(void);
/* The user whose subordinate range holds @uid, else @uid. */
uid_t subids_owner(uid_t uid);

#endif
