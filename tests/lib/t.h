/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs: checks, skips, probes, patterns. */
#ifndef UZ_T_H
#define UZ_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* automake's exit codes */
#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77
#define T_EXIT_ERROR 99

void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void t_error_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* Print "SKIP: @reason" and exit 77. */
void t_skip(const char *reason) __attribute__((noreturn));

/* Fail (exit 1) / give up on a broken environment (exit 99), with
 * file:line and a printf-style message. */
#define t_fail(...) t_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define t_error(...) t_error_at(__FILE__, __LINE__, __VA_ARGS__)

/* Fail unless @cond, with a message. */
#define t_assert(cond, ...)                                                  \
	do {                                                                 \
		if (!(cond))                                                 \
			t_fail(__VA_ARGS__);                                 \
	} while (0)

/* Fail unless @cond, naming the condition. */
#define t_check(cond)                                                        \
	do {                                                                 \
		if (!(cond))                                                 \
			t_fail("check failed: %s", #cond);                   \
	} while (0)

/* Fail unless @a == @b (integers), printing both values. */
#define t_check_eq(a, b)                                                     \
	do {                                                                 \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);      \
		if (t_a_ != t_b_)                                            \
			t_fail("%s == %lld, expected %s == %lld", #a, t_a_,  \
			       #b, t_b_);                                    \
	} while (0)

/* Monotonic clock in ns. */
uint64_t t_now_ns(void);

/* splitmix64: a fast deterministic generator; *state is the seed. */
uint64_t t_rand(uint64_t *state);
void t_rand_fill(void *p, size_t len, uint64_t *state);
/* Text-like bytes: words of a small vocabulary (compresses 2-3x). */
void t_text_fill(void *p, size_t len, uint64_t *state);

/*
 * @len bytes ending exactly where an inaccessible page starts, so a
 * write past the end faults.  Exits 99 when mmap fails.
 */
void *t_guard_alloc(size_t len);
void t_guard_free(void *p, size_t len);

/* Send @len bytes as one datagram on @sock with @nfd (0..4) copies of
 * descriptor @fd attached, whatever they hold; returns sendmsg's result. */
ssize_t t_send_raw(int sock, const void *buf, size_t len, int fd, int nfd);

/*
 * Kernel feature probes: 1 when present, else 0 with a reason for
 * t_skip() in *why (may be NULL).
 */
int t_have_uffd_move(const char **why);
int t_have_thp(const char **why);

/* kB of AnonHugePages over the VMAs of process @pid (0: this one) that
 * overlap [start, start + len); -1 when smaps cannot be read. */
long t_smaps_anon_huge_kb(pid_t pid, void *start, size_t len);

/*
 * Deterministic mixed data, by 4 KB page from @p: zero, same-filled,
 * text-like (compressible, with a header naming the page) and random
 * pages.  A 64 KB group of pages is sometimes all zero, all one word or
 * all random, so that every frame kind occurs.  The data depends only on
 * @seed and the page's index from @p, so a prefix of a filled range
 * checks against the same seed.  t_check_pattern() returns the first
 * offset that differs, or -1.
 */
void t_fill_pattern(void *p, size_t len, uint64_t seed);
long t_check_pattern(const void *p, size_t len, uint64_t seed);
/* Is the 4 KB at @p page @idx of a range filled from @seed? */
int t_check_pattern_page(const void *p, uint64_t idx, uint64_t seed);

#endif
