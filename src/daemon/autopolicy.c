/* SPDX-License-Identifier: MIT */
/* The automatic loop's decision: see autopolicy.h. */
#include <errno.h>

#include "autopolicy.h"
#include "frame.h"

struct auto_decision auto_decide(const struct auto_params *p,
				 const struct auto_input *in)
{
	struct auto_decision d = { 0, UZ_AUTO_TAKING, 0 };
	/* a step that took nothing still counts as one block: memory
	 * coming back while we take nothing means we took too much before */
	uint64_t base = in->last_blocks ? in->last_blocks : 1;

	if (in->last_err == -ENOSPC) {
		d.state = UZ_AUTO_FULL;
		d.backoff = 1;
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
	if (!in->managed) {
		d.state = UZ_AUTO_NOTHING;
		return d;
	}
	/* at least one block, whole blocks, never more than there is */
	d.bytes = in->managed / 100 * p->step_pct;
	d.bytes = (d.bytes + UZ_BLOCK_SIZE - 1) & ~(uint64_t)(UZ_BLOCK_SIZE - 1);
	if (d.bytes < UZ_BLOCK_SIZE)
		d.bytes = UZ_BLOCK_SIZE;
	return d;
}
