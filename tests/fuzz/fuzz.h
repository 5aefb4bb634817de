/* SPDX-License-Identifier: MIT */
/* What a fuzz target offers the stand-alone driver (driver.c). */
#ifndef UZ_FUZZ_H
#define UZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Optional: the @i-th valid input of the target, written to @buf (@cap
 * bytes); returns its length, or 0 when there are no more.  The driver
 * mutates these, so that inputs get past the first checks.
 */
size_t fuzz_seed_input(unsigned i, uint8_t *buf, size_t cap);

/* A broken invariant: crash so that the driver and libFuzzer see it. */
#define fuzz_assert(cond)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			__builtin_trap();                                  \
	} while (0)

#endif
