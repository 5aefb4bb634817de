/* SPDX-License-Identifier: MIT */
/* Memory pressure (PSI), the machine's or a cgroup's, for the daemon
 * and uzswapctl top. */
#ifndef UZ_PSI_H
#define UZ_PSI_H

#include <stdint.h>

#define PSI_UNKNOWN UINT32_MAX

/* The "some avg10" of /proc/pressure/memory x 100 (1234: 12.34 %), or
 * PSI_UNKNOWN without PSI. */
uint32_t psi_memory_some_centi(void);
/* The same of a pressure file @path (a cgroup v2 memory.pressure). */
uint32_t psi_some_centi(const char *path);

#endif
