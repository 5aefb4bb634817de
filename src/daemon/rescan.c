/* SPDX-License-Identifier: MIT */
/* Asking an agent to count its memory again when its process grew
 * (rescan.h). */
#include <errno.h>

#include "client.h"
#include "rescan.h"

int rescan_if_grown(struct client *cl, uint64_t rss, uint64_t *seen)
{
	uint64_t margin;

	if (rss <= *seen) {
		/* measured from its lowest since: growth after an
		 * eviction is growth again */
		*seen = rss;
		return 0;
	}
	margin = *seen / 8 > RESCAN_MIN_GROWTH ? *seen / 8 : RESCAN_MIN_GROWTH;
	if (rss - *seen < margin)
		return 0;
	return rescan_ask(cl, rss, seen) ? -ECONNRESET : 1;
}

int rescan_ask(struct client *cl, uint64_t rss, uint64_t *seen)
{
	*seen = rss;
	return client_ask_rescan(cl) ? -ECONNRESET : 0;
}
