/* SPDX-License-Identifier: MIT */
/* The automatic loop's decision: see autopolicy.h. */
#include <errno.h>

#include "autopolicy.h"
#include "frame.h"

static uint64_t round_blocks(uint64_t bytes)
{
	bytes = (bytes + UZ_BLOCK_SIZE - 1) & ~(uint64_t)(UZ_BLOCK_SIZE - 1);
	return bytes < UZ_BLOCK_SIZE ? UZ_BLOCK_SIZE : bytes;
}

/* An ordinary step: auto-step % of what the client manages, whole
 * blocks, at least one; nothing when it manages nothing. */
static struct auto_decision step_of(const struct auto_params *p,
				    const struct auto_input *in)
{
	struct auto_decision d = { 0, UZ_AUTO_NOTHING, 0, 0 };

	if (!in->managed)
		return d;
	d.bytes = round_blocks(in->managed / 100 * p->step_pct);
	d.state = UZ_AUTO_TAKING;
	return d;
}

uint64_t auto_limit_room(uint64_t limit)
{
	return limit / 100 * (100 - AUTO_LIMIT_HIGH);
}

int auto_limit_near(uint64_t usage, uint64_t limit)
{
	return limit != UINT64_MAX && usage >= limit - auto_limit_room(limit);
}

/*
 * Near the limit: how far below it to take the job.  One that fills new
 * memory at AUTO_HOLD_FILL_RATE or faster (or at a speed not
 * known) is held while its share of the way down to twice the room
 * below the limit is taken, at least a step: a fill at a GB/s crosses
 * the room in as long as a hold takes to start.  One that barely fills
 * keeps what it reads back in a quarter second free, AUTO_LIMIT_SLACK at least
 * and twice the room at most, and nothing more is taken: a job that
 * grows by reading its memory back has the agent's guard keep its
 * restores under the limit (limitguard.c); taken down to twice the room
 * at every look, and held, sort read back what was taken for most of
 * its run.
 */
static struct auto_decision limit_step(const struct auto_params *p,
				       const struct auto_input *in)
{
	uint64_t room = auto_limit_room(in->cg_limit), below, to, over;
	uint32_t clients = in->cg_clients ? in->cg_clients : 1;
	struct auto_decision d = { 0, UZ_AUTO_LIMIT, 0, 0 };

	d.hold = in->fill_rate >= AUTO_HOLD_FILL_RATE;
	/* one that reads back fast keeps a quarter second of that free,
	 * twice the room at most: at the guard's 16 MB, the agent's own
	 * allocations beside restores at hundreds of MB/s met the OOM
	 * killer (zipf); a whole second kept sort, reading back 128 MB/s,
	 * from 130 MB of its memory */
	below = in->back_rate / 4;
	if (below < AUTO_LIMIT_SLACK)
		below = AUTO_LIMIT_SLACK;
	if (below > 2 * room)
		below = 2 * room;
	if (d.hold)
		below = 2 * room;
	to = in->cg_limit > below ? in->cg_limit - below : 0;
	if (in->cg_usage <= to)
		return d; /* the guard holds it there */
	over = (in->cg_usage - to) / clients;
	if (d.hold) {
		d.bytes = step_of(p, in).bytes;
		if (round_blocks(over) > d.bytes)
			d.bytes = round_blocks(over);
	} else {
		d.bytes = round_blocks(over);
	}
	return d;
}

struct auto_decision auto_decide(const struct auto_params *p,
				 const struct auto_input *in)
{
	struct auto_decision d = { 0, UZ_AUTO_TAKING, 0, 0 };
	/* a step that took nothing still counts as one block: memory
	 * coming back while we take nothing means we took too much before */
	uint64_t base = in->last_blocks ? in->last_blocks : 1;
	uint64_t usage;

	if (in->last_err == -ENOSPC) {
		d.state = UZ_AUTO_FULL;
		d.backoff = 1;
		return d;
	}
	if (auto_limit_near(in->cg_usage, in->cg_limit))
		return limit_step(p, in);
	/* against the target, what waits on the inactive list is gone
	 * already: counted, it would be taken again and again meanwhile
	 * (the limit, above, counts it: it is still charged) */
	usage = in->cg_usage > in->inactive ? in->cg_usage - in->inactive : 0;
	if (in->cg_target != UINT64_MAX && usage <= in->cg_target) {
		d.state = UZ_AUTO_TARGET; /* there: held, looked at again */
		return d;
	}
	if (in->pressure_centi != AUTO_PRESSURE_UNKNOWN &&
	    in->pressure_centi >= p->pressure_pct * 100u) {
		d.state = UZ_AUTO_PRESSURE;
		d.backoff = 1;
		return d;
	}
	if (in->refaults * 100 >= base * p->refault_pct) {
		d.state = UZ_AUTO_REFAULTS;
		d.backoff = 1;
		return d;
	}
	d = step_of(p, in);
	if (in->cg_target != UINT64_MAX) {
		/* no further than its share of the way down to the target */
		uint64_t over = (usage - in->cg_target) /
				(in->cg_clients ? in->cg_clients : 1);

		if (d.bytes > round_blocks(over))
			d.bytes = round_blocks(over);
	}
	return d;
}
