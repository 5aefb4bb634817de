/* SPDX-License-Identifier: MIT */
/* Parsing and printing of sizes: "4096", "64K", "1.5G", "25%" (of RAM). */
#ifndef UZ_SIZE_H
#define UZ_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse @s into bytes.  Suffixes K, M, G, T (powers of 1024, optional
 * trailing "B" or "iB"); "N%" is N percent of @percent_base (refused when
 * @percent_base is 0).  Returns 0 or -EINVAL/-ERANGE.
 */
int size_parse(const char *s, uint64_t percent_base, uint64_t *out);
/* Human form of @bytes ("1.5G") into @buf; returns @buf. */
char *size_format(uint64_t bytes, char *buf, size_t len);

#endif
