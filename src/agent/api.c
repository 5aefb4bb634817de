/* SPDX-License-Identifier: MIT */
/* The public uzswap_* API (include/uzswap.h). */
#include <errno.h>
#include <stdint.h>

#include "agent.h"
#include "loop.h"
#include "regions.h"
#include "uzswap.h"

#define UZ_EXPORT __attribute__((visibility("default")))

static int check_range(void *addr, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	if (!agent_here())
		return -ENOTCONN;
	if (!len || a + len < a)
		return -EINVAL;
	return 0;
}

UZ_EXPORT int uzswap_active(void)
{
	return agent_here() && uz_agent.sock >= 0;
}

UZ_EXPORT int uzswap_register(void *addr, size_t len)
{
	int err = check_range(addr, len);

	return err ? err : regions_register((uintptr_t)addr, len);
}

UZ_EXPORT int uzswap_unregister(void *addr, size_t len)
{
	int err = check_range(addr, len);

	if (err)
		return err;
	regions_unregister((uintptr_t)addr, len);
	/* nothing of the range may stay in the pool once it is not ours */
	return loop_request(LOOP_RESTORE_RANGE, (uintptr_t)addr, len);
}

UZ_EXPORT int uzswap_hint(void *addr, size_t len, int hint)
{
	int err = check_range(addr, len);

	if (err)
		return err;
	if (hint < UZSWAP_HINT_NORMAL || hint > UZSWAP_HINT_RANDOM)
		return -EINVAL;
	err = regions_hint((uintptr_t)addr, len, hint);
	if (!err && hint == UZSWAP_HINT_HOT)
		/* hot memory is never evicted: bring back what already is */
		err = loop_request(LOOP_RESTORE_RANGE, (uintptr_t)addr, len);
	return err;
}
