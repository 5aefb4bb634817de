/* SPDX-License-Identifier: MIT */
/* ThreadSanitizer annotations (make check-tsan); nothing without it. */
#ifndef UZ_TSAN_H
#define UZ_TSAN_H

#ifdef __SANITIZE_THREAD__
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
/* this thread's memory accesses go unchecked (synchronisation still
 * counts) until tsan_unchecked_end() */
#define tsan_unchecked_begin()                                  \
	(AnnotateIgnoreReadsBegin(__FILE__, __LINE__),         \
	 AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define tsan_unchecked_end()                                    \
	(AnnotateIgnoreWritesEnd(__FILE__, __LINE__),          \
	 AnnotateIgnoreReadsEnd(__FILE__, __LINE__))
#else
#define tsan_unchecked_begin() ((void)0)
#define tsan_unchecked_end() ((void)0)
#endif

#endif
