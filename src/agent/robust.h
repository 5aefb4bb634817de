/* SPDX-License-Identifier: MIT */
/* Blocks the kernel reads at thread exit stay resident (robust.c). */
#ifndef UZ_AGENT_ROBUST_H
#define UZ_AGENT_ROBUST_H

#include <stdint.h>

#include "agent.h"

/* 1 if a thread's robust mutex list (head, entries, futex words) has
 * anything in block @blk, which an eviction has just moved out; 0 if
 * not; -errno if the threads could not be listed. */
UZ_HIDDEN int robust_in_block(uint64_t blk);

#endif
