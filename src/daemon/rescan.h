/* SPDX-License-Identifier: MIT */
/*
 * An idle agent counts the memory it manages (its whole 2 MB blocks, the
 * figure the automatic steps take a share of) only every two minutes on its
 * own, so that an idle process is not woken for it (issue 13).  A
 * process that grows meanwhile would be judged on the old figure: the
 * daemon, which looks at each automatic client every interval anyway,
 * sees its anonymous memory grow and asks its agent to count again.
 */
#ifndef UZD_RESCAN_H
#define UZD_RESCAN_H

#include <stdint.h>

struct client;

/* Growth that asks for a count: 1/8 of what @cl had at the last ask,
 * at least this. */
#define RESCAN_MIN_GROWTH (16ull << 20)

/* Ask @cl's agent to count again (UZ_MSG_RESCAN) if its process's
 * anonymous resident memory, @rss now, grew by RESCAN_MIN_GROWTH or an
 * eighth since *@seen (updated: what it had at the last ask, or less
 * since).  1 if it asked, 0 if not, -ECONNRESET (@cl is gone). */
int rescan_if_grown(struct client *cl, uint64_t rss, uint64_t *seen);
/* Ask @cl's agent to count again whatever the growth (*@seen = @rss):
 * 0, or -ECONNRESET. */
int rescan_ask(struct client *cl, uint64_t rss, uint64_t *seen);

#endif
