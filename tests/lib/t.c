/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs: checks, skips, probes, patterns. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "uffd_compat.h"

#define T_PAGE 4096u
#define T_GROUP_PAGES 16u /* pages of one 64 KB frame */

static void t_vreport(const char *tag, const char *file, int line,
		      const char *fmt, va_list ap)
{
	fprintf(stderr, "%s %s:%d: ", tag, file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport("FAIL", file, line, fmt, ap);
	va_end(ap);
	exit(T_EXIT_FAIL);
}

void t_error_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport("ERROR", file, line, fmt, ap);
	va_end(ap);
	exit(T_EXIT_ERROR);
}

void t_skip(const char *reason)
{
	printf("SKIP: %s\n", reason ? reason : "(no reason given)");
	fflush(stdout);
	exit(T_EXIT_SKIP);
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t t_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void t_rand_fill(void *p, size_t len, uint64_t *state)
{
	unsigned char *b = p;
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		w = t_rand(state);
		memcpy(b + i, &w, 8);
	}
	if (i < len) {
		w = t_rand(state);
		memcpy(b + i, &w, len - i);
	}
}

void *t_guard_alloc(size_t len)
{
	size_t span = (len + T_PAGE - 1) / T_PAGE * T_PAGE;
	unsigned char *base;

	base = mmap(NULL, span + T_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		t_error("mmap %zu: %s", span + T_PAGE, strerror(errno));
	if (mprotect(base + span, T_PAGE, PROT_NONE))
		t_error("mprotect: %s", strerror(errno));
	return base + span - len;
}

void t_guard_free(void *p, size_t len)
{
	size_t span = (len + T_PAGE - 1) / T_PAGE * T_PAGE;

	munmap((unsigned char *)p + len - span, span + T_PAGE);
}

ssize_t t_send_raw(int sock, const void *buf, size_t len, int fd, int nfd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int i;

	if (nfd > 4)
		nfd = 4;
	if (nfd > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		for (i = 0; i < nfd; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* A userfaultfd: through /dev/userfaultfd as the daemon gets one, else
 * the syscall (user-mode only, which unprivileged users may have). */
static int t_uffd_open(void)
{
	int dev, fd = -1;

	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
	}
	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd;
}

int t_have_uffd_move(const char **why)
{
	static char reason[128];
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_MOVE };
	int fd = t_uffd_open(), ok;

	if (fd < 0) {
		snprintf(reason, sizeof(reason), "userfaultfd unavailable: %s",
			 strerror(errno));
		if (why)
			*why = reason;
		return 0;
	}
	/* UFFDIO_API fails with EINVAL when a requested feature is unknown */
	ok = !ioctl(fd, UFFDIO_API, &api) && (api.features & UFFD_FEATURE_MOVE);
	close(fd);
	if (!ok && why)
		*why = "kernel lacks UFFD_FEATURE_MOVE (UFFDIO_MOVE, Linux 6.8+)";
	return ok;
}

int t_have_thp(const char **why)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	const char *no = NULL;

	if (!f) {
		no = "no transparent huge pages in this kernel";
	} else {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		if (strstr(buf, "[never]"))
			no = "transparent huge pages disabled ([never])";
		else if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1)
			no = "transparent huge pages disabled for this process";
	}
	if (no && why)
		*why = no;
	return !no;
}

long t_smaps_anon_huge_kb(pid_t pid, void *start, size_t len)
{
	uintptr_t s = (uintptr_t)start, e = s + len;
	char path[64], line[512];
	long sum = 0;
	int in = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/smaps");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char c;

		/* a VMA's first line is "start-end perms ..."; no field line
		 * parses as two hex numbers joined by '-' then a space */
		if (sscanf(line, "%lx-%lx%c", &a, &b, &c) == 3 && c == ' ')
			in = a < e && s < b;
		else if (in && !strncmp(line, "AnonHugePages:", 14))
			sum += atol(line + 14);
	}
	fclose(f);
	return sum;
}

enum t_page_kind { T_ZERO, T_FILL, T_TEXT, T_RANDOM };

static uint64_t t_mix(uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t s = seed ^ (a * 0xd1342543de82ef95ull) ^ (b << 1);

	return t_rand(&s);
}

/* Kind of page @idx: a group of 16 is sometimes one kind throughout
 * (1 in 8 each: zero, filled, random), otherwise every page picks. */
static enum t_page_kind t_page_kind(uint64_t idx, uint64_t seed)
{
	uint64_t g = t_mix(seed, idx / T_GROUP_PAGES, 1) % 8;
	uint64_t p = t_mix(seed, idx, 2) % 8;

	if (g < 3)
		return g == 0 ? T_ZERO : g == 1 ? T_FILL : T_RANDOM;
	return p < 2 ? T_ZERO : p < 3 ? T_FILL : p < 6 ? T_TEXT : T_RANDOM;
}

static const char *const t_words[32] = {
	"the", "swap", "memory", "page", "block", "frame", "kernel", "of",
	"and", "compressed", "fault", "to", "a", "daemon", "agent", "in",
	"resident", "zstd", "lz4", "is", "evict", "restore", "huge", "for",
	"process", "with", "arena", "bytes", "checksum", "on", "data", "it",
};

void t_text_fill(void *p, size_t len, uint64_t *state)
{
	unsigned char *b = p;
	const char *word;
	uint64_t r = 0;
	size_t n = 0, w;
	int bits = 0, words = 0;

	while (n < len) {
		if (bits < 5) {
			r = t_rand(state);
			bits = 64;
		}
		word = t_words[r & 31];
		r >>= 5;
		bits -= 5;
		w = strlen(word);
		if (w > len - n)
			w = len - n;
		memcpy(b + n, word, w);
		n += w;
		if (n < len)
			b[n++] = ++words % 12 ? ' ' : '\n';
	}
}

/* A text page starts with a line naming it, so no two are alike. */
static void t_text_page(unsigned char *b, uint64_t idx, uint64_t seed)
{
	uint64_t st = t_mix(seed, idx, 3);
	size_t n;

	n = (size_t)snprintf((char *)b, T_PAGE, "uzswap page %llu seed %llu\n",
			     (unsigned long long)idx, (unsigned long long)seed);
	t_text_fill(b + n, T_PAGE - n, &st);
}

/* Page @idx's 4 KB for @seed. */
static void t_page(unsigned char *b, uint64_t idx, uint64_t seed)
{
	uint64_t w, st;
	size_t i;

	switch (t_page_kind(idx, seed)) {
	case T_ZERO:
		memset(b, 0, T_PAGE);
		break;
	case T_FILL:
		/* one word per group when the whole group is filled */
		w = t_mix(seed, t_mix(seed, idx / T_GROUP_PAGES, 1) % 8 == 1
					? idx / T_GROUP_PAGES
					: idx,
			  4) | 1;
		for (i = 0; i < T_PAGE; i += 8)
			memcpy(b + i, &w, 8);
		break;
	case T_TEXT:
		t_text_page(b, idx, seed);
		break;
	case T_RANDOM:
		st = t_mix(seed, idx, 5);
		t_rand_fill(b, T_PAGE, &st);
		break;
	}
}

void t_fill_pattern(void *p, size_t len, uint64_t seed)
{
	unsigned char page[T_PAGE], *b = p;
	uint64_t idx;
	size_t off, n;

	for (idx = 0, off = 0; off < len; idx++, off += n) {
		n = len - off < T_PAGE ? len - off : T_PAGE;
		t_page(page, idx, seed);
		memcpy(b + off, page, n);
	}
}

int t_check_pattern_page(const void *p, uint64_t idx, uint64_t seed)
{
	unsigned char page[T_PAGE];

	t_page(page, idx, seed);
	return !memcmp(p, page, T_PAGE);
}

long t_check_pattern(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *b = p;
	unsigned char page[T_PAGE];
	uint64_t idx;
	size_t off, n, i;

	for (idx = 0, off = 0; off < len; idx++, off += n) {
		n = len - off < T_PAGE ? len - off : T_PAGE;
		t_page(page, idx, seed);
		if (!memcmp(b + off, page, n))
			continue;
		for (i = 0; page[i] == b[off + i]; i++)
			;
		return (long)(off + i);
	}
	return -1;
}
