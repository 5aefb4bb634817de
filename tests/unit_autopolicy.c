/* SPDX-License-Identifier: MIT */
/* The automatic loop's decision (src/daemon/autopolicy.c): a step while
 * all is calm, back-off on pressure, on refaults and on a full arena. */
#include <errno.h>
#include <stdio.h>

#include "autopolicy.h"
#include "frame.h"
#include "t.h"

#define MB (1ull << 20)

static const struct auto_params params = { 5, 10, 25 };

static struct auto_input calm(void)
{
	struct auto_input in = {
		.managed = 1024 * MB, .last_blocks = 8, .pressure_centi = 150,
		.cg_limit = UINT64_MAX, .fill_rate = UINT64_MAX, .cg_clients = 1,
		.cg_target = UINT64_MAX,
	};

	return in;
}

static void steps(void)
{
	struct auto_input in = calm();
	struct auto_decision d = auto_decide(&params, &in);

	t_assert(d.state == UZ_AUTO_TAKING && !d.backoff, "calm: state %d", d.state);
	/* 5% of 1 GB is 51.2 MB: rounded up to whole 2 MB blocks */
	t_assert(d.bytes == 52 * MB, "5%% of 1 GB: %llu bytes",
		 (unsigned long long)d.bytes);
	in.managed = 3 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.bytes == UZ_BLOCK_SIZE, "a small client: one block, not %llu",
		 (unsigned long long)d.bytes);
	in.managed = 0;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_NOTHING && !d.bytes, "nothing managed");
	in = calm();
	in.pressure_centi = AUTO_PRESSURE_UNKNOWN;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING && d.bytes, "no PSI: refaults decide alone");
}

static void pressure(void)
{
	struct auto_input in = calm();
	struct auto_decision d;

	in.pressure_centi = 999;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING, "9.99%% is under 10%%");
	in.pressure_centi = 1000;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_PRESSURE && d.backoff && !d.bytes,
		 "10%%: back off (state %d)", d.state);
}

static void refaults(void)
{
	struct auto_input in = calm();
	struct auto_decision d;

	in.refaults = 1; /* of 8: 12.5% */
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING, "1 of 8 back is under 25%%");
	in.refaults = 2; /* 25% */
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_REFAULTS && d.backoff && !d.bytes,
		 "2 of 8 back: back off (state %d)", d.state);
	in.last_blocks = 0;
	in.refaults = 1;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_REFAULTS, "memory back while taking nothing");
	/* an agent's count, however wrong, does not overflow the sums */
	in.refaults = (1ull << 56);
	in.last_blocks = UINT32_MAX;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_REFAULTS, "huge counts");
}

static void full(void)
{
	struct auto_input in = calm();
	struct auto_decision d;

	in.last_err = -ENOSPC;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_FULL && d.backoff && !d.bytes, "arena full");
}

/* Near its cgroup's limit (within 15 % of it), ahead of the kernel,
 * whatever the pressure and refaults: a job that fills new memory (8 MB/s
 * or more) is held and taken down to twice that below it, its share
 * among the cgroup's clients, a step at least; one that barely fills
 * keeps what it reads back in a quarter second free, 24 MB at least, twice the
 * room at most, and no more is taken; nothing below the line. */
static void limit(void)
{
	struct auto_input in = calm();
	struct auto_decision d;

	in.cg_limit = 1000 * MB;
	in.cg_usage = 849 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING, "151 MB under a 1000 MB limit (150 MB "
		 "of room): an ordinary step, not state %d", d.state);
	in.cg_usage = 950 * MB;
	in.pressure_centi = 5000;
	in.refaults = 100;
	d = auto_decide(&params, &in);
	/* down to 700 MB: 250 MB over, and more than a 52 MB step */
	t_assert(d.state == UZ_AUTO_LIMIT && !d.backoff && d.bytes == 250 * MB,
		 "50 MB under the limit: state %d, %llu bytes", d.state,
		 (unsigned long long)d.bytes);
	t_assert(d.hold, "growing at a speed not known: held");
	in.fill_rate = 8 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.hold && d.bytes == 250 * MB, "filling at 8 MB/s: held, "
		 "taken down to 700 MB, not %llu bytes", (unsigned long long)d.bytes);
	in.fill_rate = 8 * MB - 1;
	d = auto_decide(&params, &in);
	t_assert(!d.hold && !d.bytes, "barely filling, 50 MB under its limit: "
		 "not held, nothing taken");
	in.fill_rate = 0;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_LIMIT && !d.hold && !d.bytes, "a job that "
		 "reads its memory back, 50 MB under its limit: nothing taken "
		 "(24 MB are kept), not %llu bytes",
		 (unsigned long long)d.bytes);
	in.back_rate = 400 * MB;
	d = auto_decide(&params, &in);
	t_assert(!d.hold && d.bytes == 50 * MB, "reading back 400 MB/s: a "
		 "quarter second of it kept free, 50 MB taken, not %llu",
		 (unsigned long long)d.bytes);
	in.back_rate = 4000 * MB;
	d = auto_decide(&params, &in);
	t_assert(!d.hold && d.bytes == 250 * MB, "reading back 4 GB/s: twice "
		 "the room kept free at most, 250 MB taken, not %llu",
		 (unsigned long long)d.bytes);
	in.back_rate = 0;
	in.cg_usage = 995 * MB;
	d = auto_decide(&params, &in);
	t_assert(!d.hold && d.bytes == 20 * MB, "5 MB under: 19 MB to 24 MB "
		 "(20 MB in whole blocks), not %llu bytes", (unsigned long long)d.bytes);
	in.cg_usage = 950 * MB;
	in.fill_rate = 150 * MB;
	in.managed = 100 * MB; /* a 6 MB step */
	in.cg_usage = 1000 * MB;
	in.cg_clients = 3;
	d = auto_decide(&params, &in);
	t_assert(d.bytes == 100 * MB, "300 MB shared by 3: 100 MB, not %llu",
		 (unsigned long long)d.bytes);
	in.cg_clients = 64;
	d = auto_decide(&params, &in);
	t_assert(d.bytes == 6 * MB, "shared by 64: a step (6 MB), not %llu",
		 (unsigned long long)d.bytes);
	in.cg_clients = 1;
	in.cg_limit = 100 * MB; /* room: 15 MB */
	in.cg_usage = 84 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_PRESSURE, "84%% of a 100 MB limit: pressure "
		 "rules, not state %d", d.state);
	in.cg_usage = 85 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_LIMIT && d.bytes == 16 * MB, "85%% of it: down "
		 "to 70%% (16 MB in whole blocks), not state %d, %llu bytes",
		 d.state, (unsigned long long)d.bytes);
	in.last_err = -ENOSPC;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_FULL, "a full arena still stops it");
}

/* A cgroup's target=: taking stops at it and goes on above it, a step
 * at a time but never past it; pressure and refaults still back off
 * above it; its limit still comes first. */
static void target(void)
{
	struct auto_input in = calm();
	struct auto_decision d;

	in.cg_usage = 600 * MB;
	in.cg_target = 600 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TARGET && !d.bytes && !d.backoff,
		 "at its target: held (state %d, %llu bytes)", d.state,
		 (unsigned long long)d.bytes);
	in.cg_usage = 500 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TARGET && !d.bytes, "under it: nothing taken");
	in.cg_usage = 900 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING && d.bytes == 52 * MB,
		 "300 MB over: a step of 52 MB, not %llu", (unsigned long long)d.bytes);
	in.cg_usage = 605 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TAKING && d.bytes == 6 * MB,
		 "5 MB over: 6 MB (whole blocks), not %llu", (unsigned long long)d.bytes);
	/* what waits on the inactive list counts as gone against the
	 * target, not against the limit */
	in.cg_usage = 650 * MB;
	in.inactive = 60 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_TARGET && !d.bytes, "50 MB over with 60 MB "
		 "inactive: held, not %llu taken", (unsigned long long)d.bytes);
	in.cg_usage = 700 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.bytes == 40 * MB, "100 MB over, 60 MB inactive: 40 MB, not %llu",
		 (unsigned long long)d.bytes);
	in.cg_limit = 720 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_LIMIT, "inactive memory is still charged "
		 "against the limit");
	in.cg_limit = UINT64_MAX;
	in.inactive = 0;
	in.cg_clients = 4;
	d = auto_decide(&params, &in);
	t_assert(d.bytes == 26 * MB, "100 MB over, 4 clients: 26 MB each, not %llu",
		 (unsigned long long)d.bytes);
	in.pressure_centi = 2000;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_PRESSURE && d.backoff, "over it, pressure backs off");
	in.cg_limit = 750 * MB;
	d = auto_decide(&params, &in);
	t_assert(d.state == UZ_AUTO_LIMIT && d.bytes, "near the limit, the limit rules");
}

int main(void)
{
	steps();
	pressure();
	refaults();
	full();
	limit();
	target();
	printf("autopolicy: steps, pressure, refaults, a full arena, a cgroup "
	       "limit and a target as expected\n");
	return 0;
}
