/* SPDX-License-Identifier: MIT */
/* The machine's memory pressure (PSI), for the daemon and uzswapctl top. */
#ifndef UZ_PSI_H
#define UZ_PSI_H

#include <stdint.h>

#define PSI_UNKNOWN UINT32_MAX

/* The "some avg10" of /proc/pressure/memory x 100 (1234: 12.34 %), or
 * PSI_UNKNOWN without PSI. */
uint32_t psi_memory_some_centi(void);

#endif
