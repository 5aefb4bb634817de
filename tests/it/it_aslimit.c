/* SPDX-License-Identifier: MIT */
/*
 * Under an address-space limit (ulimit -v 1 GB) the agent's reserved
 * range is an eighth of it, too small for the inactive list's 128 MB of
 * slots.  They were then mapped where the kernel put them, while the
 * program ran: in a hole the program had left, which it then mapped
 * again with MAP_FIXED, and bytes came back wrong (review of e486d66,
 * probe p_forkhole under ulimit -v; the same with a fork handler that
 * maps memory in the child before the agent's).  The list now lives in
 * the range or not at all: without room, blocks are compressed at once.
 *
 * Here the program leaves a 256 MB hole with every free range above it
 * filled, the automatic loop takes memory, the hole is still free, and
 * the program gets it back, fills it, has it evicted and reads it back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "itest.h"

#define COLD (16 * IT_MB)
#define HOLE (256 * IT_MB)
#define AS_LIMIT (1024 * IT_MB)

int main(int argc, char **argv)
{
	struct rlimit as = { AS_LIMIT, AS_LIMIT };
	uint8_t *cold, *hole;
	double t0;

	it_need_auto_loop();
	/* before the agent starts (it_setup runs us again under it) */
	it_assert(!setrlimit(RLIMIT_AS, &as), "setrlimit: %s", strerror(errno));
	it_setup_config(argc, argv, it_config_inactive);
	it_watchdog(300, " (it_aslimit)");
	cold = it_alloc(COLD, 1);
	it_fill(cold, COLD, 81);

	hole = it_leave_hole(HOLE);

	/* the loop takes something: on the list, or compressed at once */
	t0 = it_now_s();
	while (it_stat("inactive_bytes") + it_stat("evicted_bytes") < 2 * IT_MB &&
	       it_now_s() - t0 < 60)
		usleep(100000);
	it_assert(it_stat("inactive_bytes") + it_stat("evicted_bytes") >= 2 * IT_MB,
		  "the automatic loop took nothing in 60 s");
	it_take_back_hole(hole, HOLE, 82, "under the limit");
	it_assert(it_check(cold, COLD, 81) < 0, "wrong bytes in the cold memory");
	printf("under a 1 GB address-space limit: a hole the program left stayed "
	       "free while the automatic loop took memory (%llu bytes on the "
	       "inactive list), and read back right\n",
	       (unsigned long long)it_stat("inactive_bytes"));
	return 0;
}
