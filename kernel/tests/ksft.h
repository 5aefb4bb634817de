/* SPDX-License-Identifier: MIT */
/*
 * ksft.h - a small kselftest-style TAP helper for uzswap's in-guest kernel
 * tests. Same names and exit codes as the kernel's kselftest.h so a test can
 * move upstream with a changed #include, but our own, much smaller code.
 *
 * A test calls ksft_print_header(), ksft_set_plan(n), then one of
 * ksft_test_result_{pass,fail,skip}() per planned test, and ends with
 * ksft_finished(), which exits with KSFT_FAIL if anything failed, KSFT_SKIP
 * if everything was skipped, KSFT_PASS otherwise.
 */
#ifndef UZ_KSFT_H
#define UZ_KSFT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_XFAIL	2
#define KSFT_XPASS	3
#define KSFT_SKIP	4

static struct {
	unsigned int planned, n, pass, fail, skip;
} ksft_cnt;

static inline void ksft_print_header(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline void ksft_set_plan(unsigned int n)
{
	ksft_cnt.planned = n;
	printf("1..%u\n", n);
	fflush(stdout);
}

/* "# ..." diagnostic line; errno is preserved for the caller */
static inline __attribute__((format(printf, 1, 2)))
void ksft_print_msg(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	errno = saved;
}

enum ksft_kind { KSFT_R_PASS, KSFT_R_FAIL, KSFT_R_SKIP };

/* one "ok N ..." / "not ok N ..." line; a skip's reason follows "# SKIP" */
static inline __attribute__((format(printf, 3, 4)))
void ksft_result_(enum ksft_kind kind, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (kind == KSFT_R_PASS)
		ksft_cnt.pass++;
	else if (kind == KSFT_R_FAIL)
		ksft_cnt.fail++;
	else
		ksft_cnt.skip++;
	printf("%s %u ", kind == KSFT_R_FAIL ? "not ok" : "ok", ++ksft_cnt.n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (kind == KSFT_R_SKIP)
		printf(" # SKIP %s", reason);
	printf("\n");
	fflush(stdout);
}

#define ksft_test_result_pass(...)	ksft_result_(KSFT_R_PASS, NULL, __VA_ARGS__)
#define ksft_test_result_fail(...)	ksft_result_(KSFT_R_FAIL, NULL, __VA_ARGS__)
#define ksft_test_result_skip(reason, ...) \
	ksft_result_(KSFT_R_SKIP, reason, __VA_ARGS__)

/* pass or fail on a condition, the usual shape of a check */
#define ksft_test_result(cond, ...)					\
	do {								\
		if (cond)						\
			ksft_test_result_pass(__VA_ARGS__);		\
		else							\
			ksft_test_result_fail(__VA_ARGS__);		\
	} while (0)

/* skip every planned test not yet reported, then exit */
static inline __attribute__((noreturn))
void ksft_exit_skip_rest(const char *reason)
{
	while (ksft_cnt.n < ksft_cnt.planned)
		ksft_test_result_skip(reason, "test %u", ksft_cnt.n + 1);
	exit(ksft_cnt.fail ? KSFT_FAIL :
	     ksft_cnt.pass ? KSFT_PASS : KSFT_SKIP);
}

/* a setup error: report it as a failure of the next test and stop */
static inline __attribute__((noreturn, format(printf, 1, 2)))
void ksft_exit_fail_msg(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_test_result_fail("%s", msg);
	ksft_exit_skip_rest("an earlier step failed");
}

static inline __attribute__((noreturn)) void ksft_finished(void)
{
	if (ksft_cnt.n != ksft_cnt.planned)
		ksft_print_msg("planned %u tests but ran %u\n",
			       ksft_cnt.planned, ksft_cnt.n);
	printf("# Totals: pass:%u fail:%u skip:%u\n",
	       ksft_cnt.pass, ksft_cnt.fail, ksft_cnt.skip);
	fflush(stdout);
	if (ksft_cnt.fail || ksft_cnt.n != ksft_cnt.planned)
		exit(KSFT_FAIL);
	exit(ksft_cnt.pass ? KSFT_PASS : KSFT_SKIP);
}

#endif /* UZ_KSFT_H */
