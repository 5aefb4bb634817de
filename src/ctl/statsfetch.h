/* SPDX-License-Identifier: MIT */
/* One answer to UZ_MSG_CTL_STATS, for uzswapctl stats and top. */
#ifndef UZ_CTL_STATSFETCH_H
#define UZ_CTL_STATSFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

struct stats_reply {
	struct uz_stats_client *rows; /* one per client, grown as needed */
	size_t n, cap;
	struct uz_stats_end end;
};

/* Ask the daemon on @fd (request @seq) and read its answer into @r, or
 * exit with the reason. */
void stats_fetch(int fd, uint64_t seq, struct stats_reply *r);
/* Sleep @seconds, going on after a signal. */
void stats_sleep(double seconds);

#endif
