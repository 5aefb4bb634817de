/* SPDX-License-Identifier: MIT */
/* Requests from uzswapctl: status, stats, eviction. */
#ifndef UZD_CTLREQ_H
#define UZD_CTLREQ_H

#include <stddef.h>

struct client;
struct conn;
struct uz_msg;

/* Is @type one a uzswapctl connection may send? */
int ctl_type(unsigned type);
/* A message on @c (new or uzswapctl).  0, or -errno with @cause. */
int ctl_message(struct conn *c, const struct uz_msg *m, char *cause,
		size_t cause_len);
/* @c can take more of a reply it was waiting to send. */
void ctl_writable(struct conn *c);
/* @c is closing: forget the eviction it waits for. */
void ctl_gone(struct conn *c);
/* The eviction @c waited for is over (answered, failed or timed out). */
void ctl_evict_end(struct conn *c);

#endif
