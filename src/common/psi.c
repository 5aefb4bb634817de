/* SPDX-License-Identifier: MIT */
/* The machine's memory pressure: see psi.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "psi.h"

uint32_t psi_memory_some_centi(void)
{
	return psi_some_centi("/proc/pressure/memory");
}

uint32_t psi_some_centi(const char *path)
{
	char buf[256], *p;
	unsigned whole, frac;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return PSI_UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return PSI_UNKNOWN;
	buf[n] = 0;
	p = strstr(buf, "some avg10=");
	if (!p || sscanf(p, "some avg10=%u.%2u", &whole, &frac) != 2 || whole > 100)
		return PSI_UNKNOWN;
	return whole * 100 + frac;
}
