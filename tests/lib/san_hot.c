/* SPDX-License-Identifier: MIT */
/*
 * For scripts/check-sanitize.sh only, which builds it and preloads it
 * after AddressSanitizer's runtime wherever the tests preload the agent.
 * To the agent, ASan's own memory is plain anonymous memory like the
 * application's, and it would evict it: the shadow (of the whole address
 * space, terabytes of MAP_NORESERVE) and the runtime's state (allocator
 * and thread data, stack depot).  But the agent's own instrumented code
 * and ASan's interceptors read them: evicted, the agent thread faults on
 * them and waits for itself.  So this marks hot (never evicted) the
 * shadow and every anonymous mapping there is when it runs, before the
 * program's main() has allocated anything: what the program maps later
 * is evicted as usual.  Linked against libuzswap so that this
 * constructor runs after the agent's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uzswap.h"

/* AddressSanitizer's; ThreadSanitizer has none */
void __asan_get_shadow_mapping(size_t *scale, size_t *offset) __attribute__((weak));
/* present in a ThreadSanitizer process */
void __tsan_init(void) __attribute__((weak));

/*
 * ThreadSanitizer's fixed regions on x86-64 (the 48-bit layout of the
 * libtsan GCC 12 and LLVM 14 ship, tsan_platform.h): the shadow and the
 * meta shadow (sync objects, allocation metadata).  It maps their pages
 * as the program runs, after this constructor: the agent evicted them,
 * then faulted on them inside TSan's own code (MetaMap::GetSync) and
 * waited for itself (it_stress under make check-tsan).
 */
static const struct { uintptr_t start, end; } tsan_fixed[] = {
	{ 0x010000000000ull, 0x200000000000ull }, /* shadow */
	{ 0x300000000000ull, 0x340000000000ull }, /* meta shadow */
};

static void hot(uintptr_t start, uintptr_t end)
{
	int err = uzswap_hint((void *)start, end - start, UZSWAP_HINT_HOT);

	/* no daemon: the agent manages nothing, nothing to keep */
	if (err && err != -ENOTCONN)
		fprintf(stderr, "san_hot[%d]: uzswap_hint %#lx-%#lx: %s\n",
			(int)getpid(), (unsigned long)start, (unsigned long)end,
			strerror(-err));
}

__attribute__((constructor)) static void hot_at_start(void)
{
	/* x86-64: user space is 47 bits; shadow = (addr >> scale) + offset */
	const size_t top = (1ul << 47) - 1;
	size_t scale, offset, lo = 0, hi = 0; /* ASan's shadow, marked whole */
	char line[512];
	FILE *f;

	if (__asan_get_shadow_mapping) {
		__asan_get_shadow_mapping(&scale, &offset);
		lo = offset;
		hi = offset + (top >> scale) + 1;
		hot(lo, hi);
	}
	if (__tsan_init) {
		unsigned i;

		for (i = 0; i < sizeof(tsan_fixed) / sizeof(tsan_fixed[0]); i++)
			hot(tsan_fixed[i].start, tsan_fixed[i].end);
	}
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e, inode;
		char perms[8];

		/* "start-end perms offset dev inode path": private, writable,
		 * no file (the shadow is covered already) */
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &s, &e, perms, &inode) == 4 &&
		    !strcmp(perms, "rw-p") && !inode && !strstr(line, "[stack]") &&
		    (s >= hi || e <= lo))
			hot(s, e);
	}
	if (f)
		fclose(f);
}
