/* SPDX-License-Identifier: MIT */
/*
 * A process that dies with a core dump while memory is evicted: the core
 * must hold that memory's bytes (the kernel would write zeros: it takes
 * no userfault while dumping), for abort() and for a segfault.  The
 * agent's handler must not show: sigaction() reports SIG_DFL.
 */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define LEN (8 * IT_MB)
#define SEED 41

/* The child: fill, evict, then die of @how (0 abort, 1 segfault). */
static void child(int how, int out)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct sigaction sa;
	uint8_t *m = it_alloc(LEN, 1);

	it_fill(m, LEN, SEED);
	it_evict_all();
	if (it_stat("evicted_bytes") < LEN / 2)
		_exit(3);
	if (sigaction(SIGSEGV, NULL, &sa) || sa.sa_handler != SIG_DFL ||
	    signal(SIGABRT, SIG_DFL) != SIG_DFL)
		_exit(4); /* the agent's handler showed */
	setrlimit(RLIMIT_CORE, &rl);
	if (write(out, &m, sizeof(m)) != sizeof(m))
		_exit(5);
	if (how == 0)
		abort();
	{
		/* an address nothing is mapped at, hidden from the compiler */
		volatile uintptr_t bad = 16;

		*(volatile int *)bad = 1;
	}
	_exit(6);
}

/* The bytes at [addr, addr+len) as the core file @path has them. */
static int core_read(const char *path, uint64_t addr, uint8_t *buf, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY), i, ok = -1;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_type != ET_CORE)
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * eh.e_phentsize) != sizeof(ph))
			goto out;
		if (ph.p_type != PT_LOAD || addr < ph.p_vaddr ||
		    addr + len > ph.p_vaddr + ph.p_filesz)
			continue;
		ok = pread(fd, buf, len, ph.p_offset + (addr - ph.p_vaddr)) == (ssize_t)len ? 0 : -1;
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

static void one(int how, const char *dir)
{
	const char *what = how ? "segfault" : "abort()";
	uint8_t *m = NULL, *want = malloc(LEN), *got = malloc(LEN);
	char path[512] = "";
	struct dirent *d;
	int p[2], st;
	DIR *dd;
	pid_t c;

	it_assert(want && got && !pipe(p), "setup failed");
	c = fork();
	it_assert(c >= 0, "fork failed");
	if (!c) {
		it_assert(!chdir(dir), "chdir failed");
		child(how, p[1]);
	}
	close(p[1]);
	it_assert(read(p[0], &m, sizeof(m)) == sizeof(m), "the child did not get "
		  "as far as dying (evicted too little, or sigaction showed the "
		  "agent's handler)");
	close(p[0]);
	it_assert(waitpid(c, &st, 0) == c, "waitpid failed");
	it_assert(WIFSIGNALED(st) && WCOREDUMP(st), "%s: no core dump (status %#x)",
		  what, st);
	dd = opendir(dir);
	while (dd && (d = readdir(dd)))
		if (!strncmp(d->d_name, "core", 4))
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
	if (dd)
		closedir(dd);
	it_assert(path[0], "%s: no core file in %s", what, dir);
	it_assert(!core_read(path, (uint64_t)(uintptr_t)m, got, LEN),
		  "%s: the evicted range is not in the core", what);
	unlink(path);
	it_fill(want, LEN, SEED);
	for (size_t i = 0; i < LEN; i++)
		it_assert(got[i] == want[i], "%s: the core has %#x at byte %zu "
			  "of evicted memory, the process had %#x", what, got[i], i, want[i]);
	printf("%s: the core holds every evicted byte\n", what);
	free(want);
	free(got);
}

int main(int argc, char **argv)
{
	char pattern[256] = "", dir[] = "/tmp/uzswap-core.XXXXXX";
	int fd;

#ifdef __SANITIZE_THREAD__
	/* its runtime takes SIGSEGV itself (handle_segv) and answers
	 * sigaction() from its own table, beside the agent's interposer */
	printf("SKIP: ThreadSanitizer owns the core-dumping signals\n");
	return 77;
#endif
#ifdef __SANITIZE_ADDRESS__
	{
		/* AddressSanitizer's own SIGSEGV handler would report the
		 * segfault and exit: leave that signal to the program (and
		 * so to the agent), as without it; it_setup's run under the
		 * agent inherits the option */
		const char *o = getenv("ASAN_OPTIONS");
		char opts[4096];

		snprintf(opts, sizeof(opts), "%s%shandle_segv=0", o ? o : "",
			 o && *o ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
#endif
	it_setup(argc, argv);
	alarm(120);
	fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, pattern, sizeof(pattern) - 1) < 0)
			pattern[0] = 0;
		close(fd);
	}
	if (pattern[0] == '|' || strchr(pattern, '/')) {
		printf("SKIP: kernel.core_pattern is '%.*s': cores do not land in "
		       "the working directory\n", (int)strcspn(pattern, "\n"), pattern);
		return 77;
	}
	it_assert(mkdtemp(dir), "mkdtemp failed");
	one(0, dir);
	one(1, dir);
	rmdir(dir);
	return 0;
}
