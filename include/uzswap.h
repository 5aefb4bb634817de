/* SPDX-License-Identifier: MIT */
/*
 * uzswap: explicit opt-in for programs that link libuzswap or run with it
 * preloaded.  Every call is safe when no daemon is running: it returns
 * -ENOTCONN and changes nothing.
 */
#ifndef UZSWAP_H
#define UZSWAP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum uzswap_hint {
	UZSWAP_HINT_NORMAL = 0,
	UZSWAP_HINT_HOT = 1,	    /* keep resident: never evicted */
	UZSWAP_HINT_COLD = 2,	    /* evict first */
	UZSWAP_HINT_SEQUENTIAL = 3, /* restore whole 2 MB blocks */
	UZSWAP_HINT_RANDOM = 4,	    /* restore 64 KB at a time */
};

/* 1 when the agent is connected to uzswapd, else 0. */
int uzswap_active(void);

/*
 * Manage the anonymous private range [@addr, @addr + @len): its whole
 * 2 MB blocks become candidates for eviction.  Returns 0 or -errno.
 */
int uzswap_register(void *addr, size_t len);

/* Stop managing the range; evicted blocks in it are restored first. */
int uzswap_unregister(void *addr, size_t len);

/*
 * Tell uzswap how the range is used (enum uzswap_hint).  HOT/COLD and
 * SEQUENTIAL/RANDOM are kept apart (one does not undo the other);
 * NORMAL forgets both.  madvise() advice is taken too: MADV_COLD and
 * MADV_PAGEOUT as COLD, MADV_SEQUENTIAL/MADV_RANDOM as their namesakes,
 * MADV_WILLNEED brings evicted memory back.
 */
int uzswap_hint(void *addr, size_t len, int hint);

#ifdef __cplusplus
}
#endif

#endif
