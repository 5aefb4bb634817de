/* SPDX-License-Identifier: MIT */
#ifndef UZD_AUTOPOLICY_H
#define UZD_AUTOPOLICY_H

#include <stdint.h>

#include "protocol.h"

/*
 * The automatic loop's decision for one client at one interval, kept
 * apart from the loop that acts on it (autoevict.c) so that it can be
 * tested on its own (tests/unit_autopolicy.c).  Pure: what happened
 * since the last step in, how much to take now out.  In the spirit of
 * Meta's senpai: keep taking a small step while pressure stays low and
 * what was taken stays away; back off at once when either rises.
 */

#define AUTO_BACKOFF_INTERVALS 10 /* a back-off lasts that many intervals */
/* A client a step found with nothing left to take, which has not grown
 * since, is sent a step again this long after (each wakes its agent,
 * which walks its maps: an idle process is woken once a minute at most,
 * issue 13); looked at meanwhile after each back-off, as before. */
#define AUTO_NOTHING_AGAIN_MS 60000
#define AUTO_PRESSURE_UNKNOWN UINT32_MAX /* = PSI_UNKNOWN (psi.h) */
/* A cgroup within its room (auto_limit_room) of its memory limit is
 * taken further below it, ahead of the kernel (whose reclaim, with no
 * swap for anonymous memory, ends in the OOM killer), whatever the
 * pressure and the refaults say: twice the room below for a job that
 * fills new memory (AUTO_HOLD_FILL_RATE), held meanwhile; AUTO_LIMIT_SLACK
 * below for one that barely does (it reads its memory back: autopolicy.c
 * limit_step).  The room
 * is 100 - AUTO_LIMIT_HIGH % of the limit. */
#define AUTO_LIMIT_HIGH 85
/* kept free under the limit for a job that barely fills: the agent's
 * guard keeps 16 MB and a restore's 2 MB, and more is in flight */
#define AUTO_LIMIT_SLACK (24ull << 20)
/* a job filling new memory this fast or faster (bytes/s) is held */
#define AUTO_HOLD_FILL_RATE (8ull << 20)

struct auto_params {
	unsigned step_pct;     /* of the client's managed memory per step */
	unsigned pressure_pct; /* PSI "some" avg10 at which to back off */
	unsigned refault_pct;  /* % of the last step's blocks that came back */
};

struct auto_input {
	uint64_t managed;	 /* memory the agent may evict (registered) */
	uint64_t refaults;	 /* blocks that came back since the last step */
	uint32_t last_blocks;	 /* blocks the last step took */
	int32_t last_err;	 /* the last step's error (-errno), or 0 */
	uint32_t pressure_centi; /* PSI some avg10 x 100, or _UNKNOWN */
	uint64_t cg_usage;	 /* its memory cgroup's usage (less the page
				  * cache the kernel drops first), */
	uint64_t cg_limit;	 /* and limit (UINT64_MAX: none), */
	uint64_t back_rate;	 /* how fast it reads memory back, bytes a
				  * second (UINT64_MAX: not known) */
	uint64_t fill_rate;	 /* how fast the job fills new memory lately
				  * (not what it reads back), bytes a second
				  * (UINT64_MAX: not known) */
	uint32_t cg_clients;	 /* shared among that many clients */
	uint64_t cg_target;	 /* target=: its usage to stop at (UINT64_MAX:
				  * none; taking goes on while all is well) */
	uint64_t inactive;	 /* memory on its cgroup's clients' inactive
				  * lists: charged still, but on its way out
				  * (min-age) */
};

struct auto_decision {
	uint64_t bytes;		   /* to take now; 0: none this interval */
	enum uz_auto_state state;  /* what that is, for uzswapctl */
	int backoff;		   /* 1: wait AUTO_BACKOFF_INTERVALS */
	int hold;		   /* 1: hold the job while it runs (limit-hold):
				    * it fills faster than a step takes */
};

struct auto_decision auto_decide(const struct auto_params *p,
				 const struct auto_input *in);

/* The room under a memory @limit where the daemon steps in: 15 % of it.
 * A job that fills at a GB/s crosses it in tens of ms, as long as a
 * hold takes on a busy machine: 64 MB of a 1 GiB cgroup was too little
 * (sort was OOM-killed in its sort phase, writing memory it had not
 * touched yet, in 1 run of 2). */
uint64_t auto_limit_room(uint64_t limit);

/* Is a cgroup using @usage bytes of its @limit (UINT64_MAX: none)
 * within auto_limit_room() of it? */
int auto_limit_near(uint64_t usage, uint64_t limit);

#endif
