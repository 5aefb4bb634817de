/* SPDX-License-Identifier: MIT */
/* Huge pages faulted ahead of need, for whole-block restores. */
#ifndef UZ_AGENT_STAGE_H
#define UZ_AGENT_STAGE_H

#include <stdint.h>

#include "agent.h"

#define UZ_STAGES 4

UZ_HIDDEN int stage_init(void);
/* Start the filler thread (again, in a forked child). */
UZ_HIDDEN int stage_start(void);

/*
 * A faulted-in, zeroed 2 MB staging block to decode into; *@slot names
 * it for stage_put().  Faults one in on the spot when none is ready;
 * NULL when none can be used (each could neither be emptied nor
 * replaced).
 */
UZ_HIDDEN uint8_t *stage_take(int *slot);
/* Done with it: its page was moved away, or it is dropped (@drop). */
UZ_HIDDEN void stage_put(int slot, int drop);

struct block;
/* Decode all frames of @b into @stage, half on the worker thread.
 * Returns 0 or -EBADMSG when a frame fails its checksum. */
UZ_HIDDEN int stage_decode_split(const struct block *b, uint8_t *stage);

/* Unmap the staging blocks (the agent stepped aside: they are ours). */
UZ_HIDDEN void stage_free(void);
/* End the filler thread and wait for it (agent thread only). */
UZ_HIDDEN void stage_stop(void);
/* The memory cgroup is near its limit (@near), or no longer: the filler
 * faults no huge page in meanwhile. */
UZ_HIDDEN void stage_near_limit(int near);
/* Ask the filler for ready blocks (something was evicted). */
UZ_HIDDEN void stage_want(void);
/* Wake the filler thread (it catches up with credential changes). */
UZ_HIDDEN void stage_wake(void);
/* Nothing is evicted any more: give the ready blocks back. */
UZ_HIDDEN void stage_release(void);

/* In a forked child: the pages are the parent's until written, and
 * the filler and worker threads are gone. */
UZ_HIDDEN void stage_reset(void);
/* In a forked child starting afresh: forget the parent's staging (a
 * hole there, MADV_DONTFORK), its range the application's again. */
UZ_HIDDEN void stage_forget(void);

#endif
