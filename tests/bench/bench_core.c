/* SPDX-License-Identifier: MIT */
/*
 * Core speed benchmark, one run: bench_core zram|uzswap|lz4 SIZE [-v]
 * prints one JSON line.  tests/bench/bench_core.sh runs it in rounds and
 * tabulates; tests/bench/README.md says what each figure means.  Exit: 0
 * done, 1 integrity error, 77 skip, 99 something else broke.
 */
#ifndef _GNU_SOURCE /* configure defines it */
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#define XXH_INLINE_ALL /* header-only: no library to link */
#include <xxhash.h>

#define BC_PAGE 4096ul
#define BC_BLOCK (2ul << 20)
#define BC_FRAME (64ul << 10)
#define BC_FRAMES_PER_BLOCK (BC_BLOCK / BC_FRAME)
#define BC_MAGIC 0x484342507a77737aull /* "zswzPBCH" */
#define BC_DEC_REPS 200			/* 2 MB decompressions timed */
#define BC_MAX_BAD 8			/* bad pages reported in full */

enum { BC_EXIT_INTEGRITY = 1, BC_EXIT_SKIP = 77, BC_EXIT_ERROR = 99 };

/* The first bytes of every page; the rest is text. */
struct page_hdr {
	uint64_t magic;
	uint64_t index; /* page number within the data */
	uint64_t gen;	/* this process's run id: stale data cannot pass */
	uint64_t csum;	/* XXH3 of the body, seeded with index */
};

#define BC_BODY (BC_PAGE - sizeof(struct page_hdr))

struct bench {
	const char *mode;
	size_t size;
	size_t pages;
	uint8_t *data;
	uint64_t *csum; /* expected body checksum of each page */
	uint64_t gen;
	int verbose;
	char out[4096]; /* the JSON line being built */
	size_t out_len;
};

extern char **environ;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static __attribute__((format(printf, 2, 3), noreturn)) void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(code == BC_EXIT_SKIP ? "bench_core: SKIP: " : "bench_core: ", fmt, ap);
	va_end(ap);
	exit(code);
}

/* Progress on stderr, with -v. */
static __attribute__((format(printf, 2, 3))) void
note(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "  [%s] ", b->mode);
	vmsg("", fmt, ap);
	va_end(ap);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Append "key":value to the JSON line. */
static void out_num(struct bench *b, const char *key, double v)
{
	size_t cap = sizeof(b->out) - b->out_len;
	int n = snprintf(b->out + b->out_len, cap, ",\"%s\":%.10g", key, v);

	if (n < 0 || (size_t)n >= cap)
		die(BC_EXIT_ERROR, "JSON line too long");
	b->out_len += n;
}

static void out_print(struct bench *b)
{
	printf("{\"mode\":\"%s\"%s}\n", b->mode, b->out);
	fflush(stdout);
}

/* ---- the data ---- */

/* Sentences built once from a fixed seed: every run sees the same text. */
#define BC_WORDS 512
#define BC_SENTENCES 128 /* fewer: better ratio; 128 gives lz4 about 3 */
static char sentence[BC_SENTENCES][192];
static uint8_t sentence_len[BC_SENTENCES];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void text_init(void)
{
	static const char *syl[] = { "ta", "ren", "mo", "ka", "li", "sto", "ver",
				     "an", "pe", "dru", "ni", "col", "ex", "ma",
				     "sul", "o", "bri", "th", "ag", "ine" };
	char word[BC_WORDS][16];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int i, j, n, len;

	for (i = 0; i < BC_WORDS; i++) {
		word[i][0] = 0;
		n = 1 + rnd(&s) % 3;
		for (j = 0; j < n; j++)
			strcat(word[i], syl[rnd(&s) % 20]);
	}
	for (i = 0; i < BC_SENTENCES; i++) {
		n = 4 + rnd(&s) % 12;
		for (len = 0, j = 0; j < n; j++) {
			const char *w = word[rnd(&s) % BC_WORDS];

			memcpy(sentence[i] + len, w, strlen(w));
			len += strlen(w);
			sentence[i][len++] = ' ';
		}
		sentence[i][len - 1] = '.';
		sentence[i][len++] = '\n';
		sentence_len[i] = len;
	}
}

/* One page: header, then "NNNNN sentence" records, padded with blanks. */
static void page_fill(struct bench *b, size_t i)
{
	uint8_t *p = b->data + i * BC_PAGE, *body = p + sizeof(struct page_hdr);
	struct page_hdr h = { BC_MAGIC, i, b->gen, 0 };
	uint64_t s = (i + 1) * 0x9e3779b97f4a7c15ull;
	size_t o = 0;

	for (;;) {
		uint64_t r = rnd(&s);
		unsigned k = r % BC_SENTENCES, x = (r >> 40) % 100000, d;

		if (o + 6 + sentence_len[k] > BC_BODY)
			break;
		for (d = 0; d < 5; d++, x /= 10)
			body[o + 4 - d] = '0' + x % 10;
		body[o + 5] = ' ';
		memcpy(body + o + 6, sentence[k], sentence_len[k]);
		o += 6 + sentence_len[k];
	}
	memset(body + o, ' ', BC_BODY - o);
	h.csum = XXH3_64bits_withSeed(body, BC_BODY, i);
	b->csum[i] = h.csum;
	memcpy(p, &h, sizeof(h));
}

static void *map_aligned(size_t len, int huge)
{
	uint8_t *p = mmap(NULL, len + BC_BLOCK, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		die(BC_EXIT_ERROR, "mmap %zu bytes: %s", len, strerror(errno));
	a = (uint8_t *)(((uintptr_t)p + BC_BLOCK - 1) & ~(BC_BLOCK - 1));
	/* THP is in madvise mode here: without this, no huge pages at all */
	if (huge && madvise(a, len, MADV_HUGEPAGE))
		die(BC_EXIT_ERROR, "MADV_HUGEPAGE: %s", strerror(errno));
	return a;
}

static void data_fill(struct bench *b)
{
	double t = now();
	size_t i;

	b->pages = b->size / BC_PAGE;
	b->data = map_aligned(b->size, 1);
	/* shared, so neither MADV_PAGEOUT nor the agent (private anonymous
	 * memory only) takes it: the read faults on the data alone */
	b->csum = mmap(NULL, b->pages * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b->csum == MAP_FAILED)
		die(BC_EXIT_ERROR, "mmap: %s", strerror(errno));
	b->gen = ((uint64_t)getpid() << 32) ^ (uint64_t)(now() * 1e6);
	for (i = 0; i < b->pages; i++)
		page_fill(b, i);
	out_num(b, "size", b->size);
	out_num(b, "fill_s", now() - t);
	note(b, "filled %zu MiB in %.2f s", b->size >> 20, now() - t);
}

/* Is page @i what was written?  Prints the first few that are not. */
static int page_check(struct bench *b, size_t i, size_t *bad)
{
	const uint8_t *p = b->data + i * BC_PAGE;
	struct page_hdr h;
	uint64_t c;

	memcpy(&h, p, sizeof(h));
	c = XXH3_64bits_withSeed(p + sizeof(h), BC_BODY, i);
	if (h.magic == BC_MAGIC && h.index == i && h.gen == b->gen &&
	    h.csum == b->csum[i] && c == b->csum[i])
		return 0;
	if (++*bad <= BC_MAX_BAD)
		fprintf(stderr,
			"bench_core: INTEGRITY %s: page %zu (block %zu, +%zu KB): "
			"magic %#llx index %llu gen %s csum %s body %s\n",
			b->mode, i, i * BC_PAGE / BC_BLOCK,
			(i * BC_PAGE % BC_BLOCK) >> 10, (unsigned long long)h.magic,
			(unsigned long long)h.index, h.gen == b->gen ? "ok" : "WRONG",
			h.csum == b->csum[i] ? "ok" : "WRONG",
			c == b->csum[i] ? "ok" : "WRONG");
	return -1;
}

static long faults_now(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? 0 : ru.ru_minflt + ru.ru_majflt;
}

/*
 * Sum of a "Field: N kB" of @path: of the VMAs that overlap the data for
 * smaps, of the whole file when @b is NULL.
 */
static long proc_kb(const char *path, const char *field, struct bench *b)
{
	uintptr_t s = b ? (uintptr_t)b->data : 0, e = b ? s + b->size : 0;
	FILE *f = fopen(path, "r");
	size_t fl = strlen(field);
	char line[512];
	long sum = 0;
	int in = !b;

	if (!f)
		die(BC_EXIT_ERROR, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		/* a VMA's first line is "lo-hi perms ..." */
		if (b && sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo < e && s < hi;
		else if (in && !strncmp(line, field, fl) && line[fl] == ':')
			sum += atol(line + fl + 1);
	}
	fclose(f);
	return sum;
}

/* Share of the data in @field, in %. */
static double smaps_pct(struct bench *b, const char *field)
{
	return 100.0 * proc_kb("/proc/self/smaps", field, b) * 1024 / b->size;
}

/* Check every page in address order; returns the seconds it took. */
static double check_pass(struct bench *b)
{
	size_t i, bad = 0;
	double t = now();

	for (i = 0; i < b->pages; i++)
		page_check(b, i, &bad);
	t = now() - t;
	if (bad) {
		out_num(b, "bad_pages", bad);
		out_print(b);
		die(BC_EXIT_INTEGRITY, "INTEGRITY %s: %zu of %zu pages wrong",
		    b->mode, bad, b->pages);
	}
	return t;
}

/* The timed part: touch and check every page of the evicted data. */
static void read_check(struct bench *b)
{
	long f0 = faults_now();
	double dt = check_pass(b);

	out_num(b, "read_s", dt);
	out_num(b, "gbps", b->size / dt / 1e9);
	out_num(b, "faults", faults_now() - f0);
	out_num(b, "thp_after_pct", smaps_pct(b, "AnonHugePages"));
	note(b, "read %zu MiB in %.3f s (%.2f GB/s)", b->size >> 20, dt,
	     b->size / dt / 1e9);
}

/* The same checked read while all is resident: what checking costs. */
static void resident_check(struct bench *b)
{
	double dt = check_pass(b);

	out_num(b, "resident_gbps", b->size / dt / 1e9);
	out_num(b, "thp_before_pct", smaps_pct(b, "AnonHugePages"));
}

/* ---- zram ---- */

/* The active swap with the highest priority, which must be a zram. */
static void zram_find(char *name, size_t cap)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[512], dev[256];
	int prio, best = -1000000;

	if (!f)
		die(BC_EXIT_SKIP, "no /proc/swaps: %s", strerror(errno));
	name[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %*s %*s %*s %d", dev, &prio) == 2 &&
		    prio > best) {
			best = prio;
			snprintf(name, cap, "%s", dev);
		}
	}
	fclose(f);
	if (!name[0])
		die(BC_EXIT_SKIP, "no swap active; tests/bench/bench_core.sh "
				  "sets up a zram swap device for this run");
	if (strncmp(name, "/dev/zram", 9))
		die(BC_EXIT_SKIP, "the highest-priority swap is %s, not zram", name);
}

static void run_zram(struct bench *b)
{
	char dev[256], path[300];
	FILE *f;
	double t, mm[3], out_pct = 0;
	int tries;

	zram_find(dev, sizeof(dev));
	data_fill(b);
	resident_check(b);
	/* reclaim can leave some pages (busy, raced LRU isolation): retry */
	t = now();
	for (tries = 1; tries <= 4; tries++) {
		if (madvise(b->data, b->size, MADV_PAGEOUT))
			die(BC_EXIT_ERROR, "MADV_PAGEOUT: %s", strerror(errno));
		out_pct = smaps_pct(b, "Swap");
		if (out_pct >= 99.9)
			break;
	}
	out_num(b, "evict_s", now() - t);
	out_num(b, "pageout_tries", tries > 4 ? 4 : tries);
	out_num(b, "out_pct", out_pct);
	out_num(b, "vmswap_kb", proc_kb("/proc/self/status", "VmSwap", NULL));
	note(b, "paged out %.1f%% to %s in %.2f s", out_pct, dev, now() - t);
	if (out_pct < 99)
		die(BC_EXIT_ERROR, "only %.1f%% of the data went to swap (%s)",
		    out_pct, dev);
	/* orig_data_size, compr_data_size, mem_used_total */
	snprintf(path, sizeof(path), "/sys/block/%s/mm_stat", dev + 5);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lf %lf %lf", &mm[0], &mm[1], &mm[2]) != 3)
		die(BC_EXIT_ERROR, "cannot read %s", path);
	fclose(f);
	out_num(b, "zram_orig_bytes", mm[0]);
	out_num(b, "zram_compr_bytes", mm[1]);
	out_num(b, "zram_mem_used", mm[2]);
	out_num(b, "ratio", mm[1] > 0 ? mm[0] / mm[1] : 0);
	read_check(b);
}

/* ---- uzswap ---- */

/*
 * Run uzswapctl with @args, without the agent (or it would become a
 * client itself), output into @out.  posix_spawn rather than fork: a
 * fork would make every page of the data shared, and UFFDIO_MOVE
 * refuses pages that are not exclusive to the process.
 */
static int ctl_run(char *out, size_t cap, const char *const args[])
{
	const char *ctl = getenv("UZSWAPCTL");
	char *argv[16], *envp[512];
	posix_spawn_file_actions_t fa;
	size_t n = 0, i, e = 0;
	int pfd[2], st, err;
	ssize_t r;
	pid_t pid;

	argv[0] = (char *)(ctl && *ctl ? ctl : "uzswapctl");
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	for (i = 0; environ[i] && e < 511; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			envp[e++] = environ[i];
	envp[e] = NULL;
	if (pipe2(pfd, O_CLOEXEC))
		die(BC_EXIT_ERROR, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		snprintf(out, cap, "cannot run %s: %s", argv[0], strerror(err));
		return -err;
	}
	/* drain all of it, keep what fits */
	for (;;) {
		char sink[4096];

		r = read(pfd[0], n + 1 < cap ? out + n : sink,
			 n + 1 < cap ? cap - 1 - n : sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += r;
	}
	out[n] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Copy some of this process's numbers from `uzswapctl stats --json` into
 * the JSON line as uz_KEY, and into @val (-1: not there) when given.
 */
static void uz_stats(struct bench *b, const char *const keys[], double *val)
{
	static char js[1 << 16];
	const char *args[] = { "stats", "--json", NULL };
	char key[64], *p, *end, *k;
	int st = ctl_run(js, sizeof(js), args), i;
	double v;

	if (st)
		die(BC_EXIT_ERROR, "uzswapctl stats --json: exit %d: %s", st, js);
	/* our client's object: the braces around "pid": N */
	for (p = strstr(js, "\"pid\""); p; p = strstr(p + 1, "\"pid\""))
		if (strtol(p + 5 + strspn(p + 5, ": "), NULL, 10) == getpid())
			break;
	if (!p)
		die(BC_EXIT_ERROR, "no client with pid %d in uzswapctl stats: %s",
		    getpid(), js);
	while (p > js && *p != '{')
		p--;
	end = strchr(p, '}');
	for (i = 0; keys[i]; i++) {
		snprintf(key, sizeof(key), "\"%s\"", keys[i]);
		if (val)
			val[i] = -1;
		k = strstr(p, key);
		if (k && (!end || k < end))
			k = strchr(k + strlen(key), ':');
		if (k)
			k += 1 + strspn(k + 1, " ");
		if (!k || (end && k > end) || !isdigit((unsigned char)*k)) {
			/* missing or null (no sample): the script shows n/a */
			fprintf(stderr, "bench_core: no number for \"%s\" in stats\n",
				keys[i]);
			continue;
		}
		v = strtod(k, NULL);
		snprintf(key, sizeof(key), "uz_%s", keys[i]);
		out_num(b, key, v);
		if (val)
			val[i] = v;
	}
}

static void run_uzswap(struct bench *b)
{
	const char *pre = getenv("LD_PRELOAD");
	char pid[32], msg[4096];
	const char *args[] = { "evict", pid, "--all", NULL };
	static const char *const size_keys[] = { "evicted_bytes", "stored_bytes",
						 "pool_bytes", NULL };
	static const char *const count_keys[] = {
		"faults", "restores_2m", "restores_64k", "restores_zero",
		"prefetch_2m", "evict_busy", "csum_failures", "lat_p50_ns",
		"lat_p99_ns", "restore2m_p50_ns", "restore2m_p99_ns", NULL
	};
	double t, out_pct, size[3];
	size_t n;
	int st;

	if (!pre || !strstr(pre, "libuzswap"))
		die(BC_EXIT_SKIP, "not under the agent: run with "
				  "LD_PRELOAD=.../libuzswap.so UZSWAP_SOCKET=...");
	snprintf(pid, sizeof(pid), "%d", getpid());
	data_fill(b);
	resident_check(b);
	t = now();
	st = ctl_run(msg, sizeof(msg), args);
	out_num(b, "evict_s", now() - t);
	for (n = strlen(msg); n && isspace((unsigned char)msg[n - 1]); n--)
		msg[n - 1] = 0;
	if (st)
		die(BC_EXIT_ERROR, "uzswapctl evict %s --all: exit %d: %s", pid,
		    st, msg);
	out_pct = 100 - smaps_pct(b, "Rss");
	out_num(b, "out_pct", out_pct);
	note(b, "evicted %.1f%% in %.2f s: %s", out_pct, now() - t, msg);
	if (out_pct < 99)
		die(BC_EXIT_ERROR, "after uzswapctl evict %s --all, %.1f%% of "
				   "the data is still resident (%s)",
		    pid, 100 - out_pct, msg);
	/* sizes now, while it is all evicted; counters after the read */
	uz_stats(b, size_keys, size);
	out_num(b, "ratio", size[1] > 0 ? size[0] / size[1] : 0);
	read_check(b);
	uz_stats(b, count_keys, NULL);
}

/* ---- lz4 reference ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Decompress frames [@f, @f + @n) into the 2 MB @dst, frame k at k % 32. */
static void lz4_frames(const uint8_t *comp, const int *clen, size_t bound,
		       size_t f, size_t n, uint8_t *dst)
{
	int r;

	for (n += f; f < n; f++) {
		r = LZ4_decompress_safe((const char *)comp + f * bound,
					(char *)dst + f % BC_FRAMES_PER_BLOCK * BC_FRAME,
					clen[f], BC_FRAME);
		if (r != (int)BC_FRAME)
			die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: frame %zu: %d", f, r);
	}
}

static void run_lz4(struct bench *b)
{
	size_t nframes, nblocks, f, i, blk, total = 0;
	size_t bound = LZ4_compressBound(BC_FRAME);
	double t, dt, times[BC_DEC_REPS];
	uint8_t *comp, *dst;
	int *clen;

	data_fill(b);
	nframes = b->size / BC_FRAME;
	nblocks = b->size / BC_BLOCK;
	/* pre-faulted, so that no page fault is timed as lz4; the dst is
	 * one THP, like the agent's staging blocks */
	comp = map_aligned(nframes * bound, 1);
	memset(comp, 0, nframes * bound);
	dst = map_aligned(BC_BLOCK, 1);
	memset(dst, 1, BC_BLOCK);
	clen = calloc(nframes, sizeof(*clen));
	if (!clen)
		die(BC_EXIT_ERROR, "out of memory");
	t = now();
	for (f = 0; f < nframes; f++) {
		clen[f] = LZ4_compress_default((char *)b->data + f * BC_FRAME,
					       (char *)comp + f * bound, BC_FRAME, bound);
		if (clen[f] <= 0)
			die(BC_EXIT_ERROR, "LZ4_compress_default failed");
		total += clen[f];
	}
	dt = now() - t;
	out_num(b, "ratio", (double)b->size / total);
	out_num(b, "compr_bytes", total);
	out_num(b, "compress_gbps", b->size / dt / 1e9);
	note(b, "ratio %.2f, compress %.2f GB/s", (double)b->size / total,
	     b->size / dt / 1e9);

	/* one 2 MB block as 32 frames; a different block each time, so the
	 * compressed input comes from memory as a restore's does */
	for (i = 0; i < BC_DEC_REPS; i++) {
		blk = (i * 7919) % nblocks;
		t = now();
		lz4_frames(comp, clen, bound, blk * BC_FRAMES_PER_BLOCK,
			   BC_FRAMES_PER_BLOCK, dst);
		times[i] = (now() - t) * 1e9;
		if (memcmp(dst, b->data + blk * BC_BLOCK, BC_BLOCK))
			die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: block %zu differs", blk);
	}
	qsort(times, BC_DEC_REPS, sizeof(times[0]), cmp_double);
	out_num(b, "dec2m_p50_ns", (long long)times[BC_DEC_REPS / 2]);
	out_num(b, "dec2m_min_ns", (long long)times[0]);
	out_num(b, "dec2m_p99_ns", (long long)times[BC_DEC_REPS * 99 / 100]);

	/* all of it, 64 KB frames into the same 2 MB staging block */
	t = now();
	lz4_frames(comp, clen, bound, 0, nframes, dst);
	dt = now() - t;
	if (memcmp(dst, b->data + (nblocks - 1) * BC_BLOCK, BC_BLOCK))
		die(BC_EXIT_INTEGRITY, "INTEGRITY lz4: last block differs");
	out_num(b, "dec_gbps", b->size / dt / 1e9);
	note(b, "2 MB decompress p50 %.0f us, all %.2f GB/s",
	     times[BC_DEC_REPS / 2] / 1e3, b->size / dt / 1e9);
	free(clen);
}

/* "64M", "1G", "1073741824" -> bytes, rounded up to whole 2 MB blocks. */
static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	const char *u = strchr("KMG", toupper((unsigned char)*end));

	if (*end && u)
		v *= 1ul << (10 * (u - "KMG" + 1));
	end += !!(*end && u);
	end += strspn(end, "iB"); /* 1GiB, 64MB */
	if (*end || v < 1)
		die(BC_EXIT_ERROR, "bad size '%s'", s);
	return ((size_t)v + BC_BLOCK - 1) & ~(BC_BLOCK - 1);
}

static const struct bench_mode {
	const char *name;
	void (*run)(struct bench *b);
} modes[] = {
	{ "zram", run_zram },
	{ "uzswap", run_uzswap },
	{ "lz4", run_lz4 },
};

int main(int argc, char **argv)
{
	static struct bench b;
	size_t m;

	for (m = 0; argc >= 3 && m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(argv[1], modes[m].name))
			break;
	if (argc < 3 || m == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "usage: bench_core zram|uzswap|lz4 SIZE [-v]\n");
		return 2;
	}
	b.mode = argv[1];
	b.size = parse_size(argv[2]);
	b.verbose = argc > 3 && !strcmp(argv[3], "-v");
	text_init();
	modes[m].run(&b);
	out_print(&b);
	return 0;
}
