/* SPDX-License-Identifier: MIT */
/* One answer to UZ_MSG_CTL_STATS: see statsfetch.h. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ctl.h"
#include "statsfetch.h"

void stats_fetch(int fd, uint64_t seq, struct stats_reply *r)
{
	struct uz_msg m;

	r->n = 0;
	ctl_send(fd, UZ_MSG_CTL_STATS, seq, NULL, 0);
	for (;;) {
		ctl_recv(fd, &m, seq, -1);
		if (m.hdr.type == UZ_MSG_STATS_END) {
			r->end = m.u.end;
			return;
		}
		if (m.hdr.type != UZ_MSG_STATS_CLIENT)
			ctl_die("unexpected reply (type %u) from uzswapd",
				m.hdr.type);
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 64;
			r->rows = realloc(r->rows, r->cap * sizeof(*r->rows));
			if (!r->rows)
				ctl_die("out of memory");
		}
		m.u.client.comm[sizeof(m.u.client.comm) - 1] = 0;
		r->rows[r->n++] = m.u.client;
	}
}

void stats_sleep(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
