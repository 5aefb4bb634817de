/* SPDX-License-Identifier: MIT */
/* Integration tests: a real uzswapd and this process under the agent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "t.h"

extern char **environ;

static const char *builddir(void)
{
	const char *b = getenv("top_builddir");

	return b && *b ? b : ".";
}

/* The agent and the CLI, as the test's processes use them: copies in
 * the test's own directory (mode 0755), so that a test process that
 * drops to uid 65534 can load and run them even when the build tree is
 * not readable to that uid (a clone in /root). */
static const char *tools_dir(void)
{
	const char *d = getenv("IT_TOOLS_DIR");

	return d && *d ? d : builddir();
}

static void copy_tool(const char *from, const char *dir, const char *name)
{
	char to[4096], buf[65536];
	int in, out;
	ssize_t n;

	snprintf(to, sizeof(to), "%s/%s", dir, name);
	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0) {
		fprintf(stderr, "cannot copy %s to %s: %s\n", from, to, strerror(errno));
		exit(99);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			exit(99);
	close(in);
	if (n < 0 || close(out))
		exit(99);
}

static pid_t start_daemon(const char *sock, const char *log)
{
	char bin[4096];
	pid_t pid;
	int i;

	snprintf(bin, sizeof(bin), "%s/uzswapd", builddir());
	/* posix_spawn, not fork: a fork of a process with evicted memory
	 * is itself something the agent acts on */
	{
		/* IT_CODEC picks the daemon's codec (the zstd runs),
		 * IT_CONFIG its configuration file (it_setup's) */
		char *codec = getenv("IT_CODEC"), *conf = getenv("IT_CONFIG");
		/* uid 65534 too: tests drop to it (it_kernelread) */
		char *args[] = { "uzswapd", "--socket", (char *)sock, "-v",
				 "--allow", "user:65534",
				 "--config", conf ? conf : "/dev/null",
				 codec ? "--codec" : NULL, codec, NULL };
		/* an empty environment, but for a sanitizer run's options */
		static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };
		char opts[2][4096], *env[3];
		unsigned i, n = 0;
		posix_spawn_file_actions_t fa;

		for (i = 0; i < 2; i++)
			if (getenv(keep[i])) {
				snprintf(opts[n], sizeof(opts[n]), "%s=%s", keep[i], getenv(keep[i]));
				env[n] = opts[n];
				n++;
			}
		env[n] = NULL;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		if (posix_spawn(&pid, bin, &fa, NULL, args, env))
			exit(99);
		posix_spawn_file_actions_destroy(&fa);
	}
	for (i = 0; i < 500; i++) {
		struct stat st;

		if (!stat(sock, &st))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	fprintf(stderr, "uzswapd did not start; its log:\n");
	snprintf(bin, sizeof(bin), "cat %s >&2", log);
	if (system(bin) != 0)
		fprintf(stderr, "(could not show the log)\n");
	kill(pid, SIGKILL);
	exit(99);
}

static const char *config_text;

void it_setup_config(int argc, char **argv, const char *text)
{
	config_text = text;
	it_setup(argc, argv);
}

void it_refuse_syscalls(const int *nrs, unsigned n)
{
	struct sock_filter f[3 + 8] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	};
	struct sock_fprog p = { (unsigned short)(n + 3), f };
	unsigned i;

	it_assert(n <= 8, "it_refuse_syscalls: %u calls, 8 at most", n);
	/* one test each, to the EPERM return past the ALLOW */
	for (i = 0; i < n; i++)
		f[1 + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							(unsigned)nrs[i], n - i, 0);
	f[1 + n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[2 + n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						SECCOMP_RET_ERRNO | EPERM);
	it_assert(!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) &&
		  !prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p),
		  "seccomp: %s", strerror(errno));
}

void it_need_memcg_v1(void)
{
	if (getenv("IT_UNDER_AGENT"))
		return; /* checked before the daemon was started */
	if (geteuid() != 0 || access(IT_MEMCG_V1 "/cgroup.procs", W_OK)) {
		printf("SKIP: needs root and the cgroup v1 memory controller "
		       "at %s\n", IT_MEMCG_V1);
		exit(77);
	}
	/* what these tests count is the cgroup's charge, and a sanitizer's
	 * shadow of the program's memory is charged too (it_memlimit was
	 * OOM-killed, it_cgroup's usage did not fall under make check-tsan) */
	if (getenv("UZ_TEST_PRELOAD_FIRST") && *getenv("UZ_TEST_PRELOAD_FIRST")) {
		printf("SKIP: under a sanitizer, whose shadow memory is charged "
		       "to the cgroup as well\n");
		exit(77);
	}
}

static char unit_top[256], unit_dir[512];

static void unit_cgroup_remove(void)
{
	FILE *f = fopen(IT_MEMCG_V1 "/cgroup.procs", "w");

	if (f) {
		fprintf(f, "%d", getpid());
		fclose(f);
	}
	if (unit_dir[0] && rmdir(unit_dir) && errno != ENOENT)
		fprintf(stderr, "could not remove %s: %s\n", unit_dir,
			strerror(errno));
	if (unit_top[0] && rmdir(unit_top) && errno != ENOENT)
		fprintf(stderr, "could not remove %s: %s\n", unit_top,
			strerror(errno));
}

const char *it_unit_cgroup(const char *unit, const char **top)
{
	char procs[600], pid[32];

	snprintf(unit_top, sizeof(unit_top), IT_MEMCG_V1 "/uzswap-it-%d",
		 getpid());
	snprintf(unit_dir, sizeof(unit_dir), "%s/%s", unit_top, unit);
	it_assert(!mkdir(unit_top, 0755), "mkdir %s: %s", unit_top, strerror(errno));
	atexit(unit_cgroup_remove);
	it_assert(!mkdir(unit_dir, 0755), "mkdir %s: %s", unit_dir, strerror(errno));
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", unit_dir);
	it_write_file(procs, pid);
	if (top)
		*top = unit_top;
	return unit_dir;
}

static void timed_out(int sig);
static pid_t watched; /* the process it_watchdog watches */

void it_run_mode(char **argv, const char *mode)
{
	pid_t c = fork();
	int st;

	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (!c) {
		execl("/proc/self/exe", argv[0], mode, (char *)NULL);
		_exit(127);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return;
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "%s %s: %s %d", argv[0],
		  mode, WIFSIGNALED(st) ? "killed by signal" : "exit status",
		  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/*
 * The report of a hang runs inside the hung process (it_stress), whose
 * stuck threads may hold malloc's or stdio's locks: so no opendir(), no
 * FILE, only system calls on the stack's buffers.
 */

/* /proc/@pid/task/@tid/@name into @buf (at most @len - 1 bytes), its
 * first line; "?" when unreadable. */
static const char *task_file(int pid, const char *tid, const char *name,
			     char *buf, size_t len)
{
	char path[96];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", pid, tid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n > 0 ? buf : "?";
}

/* The state of a thread from its stat line: the letter after "(comm) " */
static char task_state(const char *stat)
{
	const char *p = strrchr(stat, ')');

	return p && p[1] && p[2] ? p[2] : '?';
}

/* Each child pid in /proc/@pid/task/@tid/children.  Read at once: the
 * file read in pieces lost children (128 of 200).  16 KB holds some two
 * thousand; more are said to be left out. */
static void task_children(int pid, const char *tid, unsigned depth)
{
	char path[96], buf[16384];
	int fd, kid = 0, digits = 0;
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/children", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == (ssize_t)sizeof(buf)) {
		dprintf(2, "  %*s(%d/%s: more children than shown)\n",
			(int)depth * 2, "", pid, tid);
		while (n > 0 && buf[n - 1] != ' ')
			n--; /* a number cut at the end */
	}
	for (i = 0; i < n; i++) {
		if (buf[i] >= '0' && buf[i] <= '9') {
			kid = kid * 10 + (buf[i] - '0');
			digits++;
		} else if (digits) {
			it_report_tree(kid, depth + 1);
			kid = digits = 0;
		}
	}
	if (digits)
		it_report_tree(kid, depth + 1);
}

struct linux_dirent64_head {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

void it_report_tree(int pid, unsigned depth)
{
	char path[64], comm[32], stat[512], wchan[64], sc[128], line[512];
	char ents[2048];
	long n;
	int dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, ents, sizeof(ents))) > 0)
		for (long at = 0; at < n;) {
			const struct linux_dirent64_head *e =
				(const void *)(ents + at);
			int len;

			at += e->reclen;
			if (e->name[0] == '.')
				continue;
			task_file(pid, e->name, "comm", comm, sizeof(comm));
			task_file(pid, e->name, "stat", stat, sizeof(stat));
			task_file(pid, e->name, "wchan", wchan, sizeof(wchan));
			task_file(pid, e->name, "syscall", sc, sizeof(sc));
			sc[strcspn(sc, " ")] = 0; /* the number; its arguments say little */
			len = snprintf(line, sizeof(line),
				       "  %*s%d/%s %-15s %c wchan %s syscall %s\n",
				       (int)depth * 2, "", pid, e->name, comm,
				       task_state(stat), wchan, sc);
			if (write(2, line, len < (int)sizeof(line) ? (size_t)len :
				  sizeof(line) - 1) < 0)
				break;
			if (depth < 8)
				task_children(pid, e->name, depth);
		}
	close(dir);
}

void it_watchdog(int seconds, const char *what)
{
	pid_t me = getpid(), w;

	watched = me;
	/* SIGTERM first: the test's memory cgroups go with it (a job left
	 * in one went on for minutes after its test was killed) */
	signal(SIGTERM, timed_out);
	w = fork();
	it_assert(w >= 0, "fork failed");
	if (w)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != me)
		_exit(0); /* the test ended before the line above */
	sleep((unsigned)seconds);
	fprintf(stderr, "FAIL: hung for %d s%s; its threads and children:\n",
		seconds, what);
	it_report_tree(me, 0);
	kill(me, SIGTERM);
	sleep(30);
	kill(me, SIGKILL);
	_exit(0);
}

void it_write_file(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	it_assert(f, "open %s: %s", path, strerror(errno));
	fputs(v, f);
	it_assert(!fclose(f), "write %s: %s", path, strerror(errno));
}

void it_setup(int argc, char **argv)
{
	char dir[] = "/tmp/uzswap-it.XXXXXX", sock[256], log[256], lib[4096];
	const char *why = NULL;
	pid_t d, c;
	int st;

	if (getenv("IT_UNDER_AGENT")) {
		if (!getenv("LD_PRELOAD"))
			it_fail("not under the agent");
		return;
	}
	if (!t_have_uffd_move(&why))
		t_skip(why);
	if (!mkdtemp(dir))
		exit(99);
	/* unprivileged test processes connect too */
	chmod(dir, 0755);
	snprintf(sock, sizeof(sock), "%s/uzswapd.sock", dir);
	snprintf(log, sizeof(log), "%s/uzswapd.log", dir);
	snprintf(lib, sizeof(lib), "%s/.libs/libuzswap.so", builddir());
	copy_tool(lib, dir, "libuzswap.so");
	snprintf(lib, sizeof(lib), "%s/uzswapctl", builddir());
	copy_tool(lib, dir, "uzswapctl");
	setenv("IT_TOOLS_DIR", dir, 1);
	{
		char conf[300];

		/* a test that gives no configuration evicts by hand: the
		 * automatic loop (on by default) off */
		snprintf(conf, sizeof(conf), "%s/uzswapd.conf", dir);
		it_write_file(conf, config_text ? config_text : "[daemon]\nauto=off\n");
		setenv("IT_CONFIG", conf, 1);
	}
	snprintf(lib, sizeof(lib), "%s/libuzswap.so", dir);
	d = start_daemon(sock, log);
	setenv("UZSWAP_SOCKET", sock, 1);
	setenv("IT_UNDER_AGENT", "1", 1);
	setenv("IT_DAEMON_PID", "", 1);
	{
		char pidbuf[32];

		snprintf(pidbuf, sizeof(pidbuf), "%d", d);
		setenv("IT_DAEMON_PID", pidbuf, 1);
		setenv("IT_DAEMON_LOG", log, 1);
	}
	{
		/* A sanitizer run (scripts/check-sanitize.sh) names what
		 * must come first in the list: the sanitizer's runtime.
		 * Its leak check stays off under the agent: it stops every
		 * thread, the agent's too, then reads all memory, and
		 * evicted memory would never come back. */
		const char *first = getenv("UZ_TEST_PRELOAD_FIRST");
		const char *asan = getenv("ASAN_OPTIONS");
		char both[8192], opts[4096];

		if (first && *first) {
			snprintf(both, sizeof(both), "%s:%s", first, lib);
			setenv("LD_PRELOAD", both, 1);
			snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0",
				 asan ? asan : "", asan && *asan ? ":" : "");
			setenv("ASAN_OPTIONS", opts, 1);
		} else {
			setenv("LD_PRELOAD", lib, 1);
		}
	}
	c = fork();
	if (c == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	{
		/* a cgroup a test made for itself goes, even if it crashed */
		char cg[128];
		glob_t left = { 0 };
		size_t i;

		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/uzswap-it-%d", c);
		rmdir(cg);
		/* and those named after it (it_stress's --limit), whose
		 * test the OOM killer may have ended before its atexit */
		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/uzswap-it-%d-*", c);
		if (!glob(cg, GLOB_ONLYDIR, NULL, &left))
			for (i = 0; i < left.gl_pathc; i++)
				if (it_memcg_remove(left.gl_pathv[i]))
					fprintf(stderr, "could not remove %s: %s\n",
						left.gl_pathv[i], strerror(errno));
		globfree(&left);
	}
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	{
		/* a daemon the test restarted itself */
		char pf[300];
		FILE *f;
		int extra;

		snprintf(pf, sizeof(pf), "%s/restarted.pid", dir);
		f = fopen(pf, "r");
		if (f && fscanf(f, "%d", &extra) == 1)
			kill(extra, SIGTERM);
		if (f)
			fclose(f);
		unlink(pf);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char cmd[512];

		/* IT_LOG_LINES: more of it, when the tail is not enough */
		const char *lines = getenv("IT_LOG_LINES");

		snprintf(cmd, sizeof(cmd), "echo '--- uzswapd log:'; tail -n %d %s",
			 lines && atoi(lines) > 0 ? atoi(lines) : 30, log);
		if (system(cmd) != 0)
			fprintf(stderr, "(could not show the log)\n");
	}
	unlink(log);
	unlink(sock);
	/* written for every test (auto=off when it gave none) */
	snprintf(lib, sizeof(lib), "%s/uzswapd.conf", dir);
	unlink(lib);
	snprintf(lib, sizeof(lib), "%s/libuzswap.so", dir);
	unlink(lib);
	snprintf(lib, sizeof(lib), "%s/uzswapctl", dir);
	unlink(lib);
	rmdir(dir);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "FAIL: test killed by signal %d\n", WTERMSIG(st));
		exit(1);
	}
	exit(WEXITSTATUS(st));
}

void it_daemon_kill(void)
{
	pid_t d = atoi(getenv("IT_DAEMON_PID"));

	kill(d, SIGKILL);
	/* one of it_daemon_restart's is ours to reap; it_setup's is our
	 * parent's child (ECHILD): wait for the socket to stop answering */
	waitpid(d, NULL, 0);
	usleep(200000);
}

pid_t it_daemon_restart(void)
{
	char pf[300], *dir = strdup(getenv("UZSWAP_SOCKET"));
	FILE *f;
	pid_t d;

	*strrchr(dir, '/') = 0;
	unlink(getenv("UZSWAP_SOCKET"));
	d = start_daemon(getenv("UZSWAP_SOCKET"), getenv("IT_DAEMON_LOG"));
	/* the next it_daemon_kill is of this one */
	snprintf(pf, sizeof(pf), "%d", (int)d);
	setenv("IT_DAEMON_PID", pf, 1);
	snprintf(pf, sizeof(pf), "%s/restarted.pid", dir);
	f = fopen(pf, "w");
	fprintf(f, "%d\n", d);
	fclose(f);
	free(dir);
	return d;
}

void *it_alloc(size_t len, int huge)
{
	uint8_t *p = mmap(NULL, len + IT_BLOCK, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		it_fail("mmap %zu: %s", len, strerror(errno));
	a = (uint8_t *)(((uintptr_t)p + IT_BLOCK - 1) & ~(IT_BLOCK - 1));
	madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

int it_ctl(char *out, size_t out_len, const char *fmt, ...)
{
	char args[1024], cmd[4096], *preload;
	va_list ap;
	FILE *f;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* neither the shell nor the CLI is part of the test */
	snprintf(cmd, sizeof(cmd), "%s/uzswapctl %s", tools_dir(), args);
	preload = strdup(getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
	unsetenv("LD_PRELOAD");
	f = popen(cmd, "r");
	if (*preload)
		setenv("LD_PRELOAD", preload, 1);
	free(preload);
	if (!f)
		it_fail("popen: %s", strerror(errno));
	if (out) {
		n = fread(out, 1, out_len - 1, f);
		out[n] = 0;
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void it_evict_all(void)
{
	char out[4096];
	int st = it_ctl(out, sizeof(out), "evict %d --all", getpid());

	it_assert(st == 0, "uzswapctl evict failed (%d): %s", st, out);
}

uint64_t it_stat(const char *key)
{
	static char out[1 << 16];
	char pat[128], *p, *q;
	int st = it_ctl(out, sizeof(out), "stats --json");

	it_assert(st == 0, "uzswapctl stats failed (%d)", st);
	/* find our client object, then the key inside it */
	snprintf(pat, sizeof(pat), "\"pid\": %d", getpid());
	p = strstr(out, pat);
	if (!p) {
		snprintf(pat, sizeof(pat), "\"pid\":%d", getpid());
		p = strstr(out, pat);
	}
	it_assert(p, "no stats for pid %d in: %s", getpid(), out);
	q = strchr(p, '}');
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(p, pat);
	it_assert(p && (!q || p < q), "no key %s in stats", key);
	p = strchr(p, ':');
	return strtoull(p + 1, NULL, 10);
}

double it_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void it_auto_state(pid_t pid, char *buf, size_t len)
{
	char out[1 << 14], *l, *save;

	it_assert(it_ctl(out, sizeof(out), "stats -r -n -o pid,auto") == 0,
		  "uzswapctl stats failed");
	for (l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int p;
		char s[32];

		if (sscanf(l, "%d %31s", &p, s) == 2 && p == pid) {
			snprintf(buf, len, "%s", s);
			return;
		}
	}
	it_fail("no stats line for pid %d", (int)pid);
}

int it_wait_auto_state(const char *want, char *state, size_t len, double secs)
{
	double t0 = it_now_s();

	do {
		it_auto_state(getpid(), state, len);
		if (!strcmp(state, want))
			return 1;
		usleep(50000);
	} while (it_now_s() - t0 < secs);
	return 0;
}

static long smaps_sum(const void *ptr, size_t len, const char *field)
{
	uintptr_t s = (uintptr_t)ptr, e = s + len;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	long sum = 0;
	size_t fl = strlen(field);

	if (!f)
		it_fail("smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		/* a VMA's first line starts "start-end "; field lines never
		 * parse as two hex numbers joined by '-' */
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
			in = a < e && s < b;
		else if (in && !strncmp(line, field, fl) && line[fl] == ':')
			sum += atol(line + fl + 1);
	}
	fclose(f);
	return sum;
}

long it_rss_kb(const void *p, size_t len)
{
	return smaps_sum(p, len, "Rss");
}

double it_resident_share(const void *p, size_t len)
{
	size_t pages = len / 4096, n = 0;
	unsigned char *v = malloc(pages);

	it_assert(v && !mincore((void *)p, len, v), "mincore failed");
	for (size_t i = 0; i < pages; i++)
		n += v[i] & 1;
	free(v);
	return (double)n / pages;
}

const char it_config_inactive[] =
	"[daemon]\n"
	"auto=on\n"
	"auto-interval=200\n"
	"auto-step=25\n"
	"auto-guard=600\n"
	"auto-pressure=100\n" /* the machine's own pressure plays no part */
	"auto-refaults=100\n" /* nor do our touches: no back-off */
	"min-age=600\n";

int it_mapped_in(const void *p, size_t len, char *line, size_t line_len)
{
	unsigned long s, e, lo = (unsigned long)p, hi = lo + len;
	FILE *f = fopen("/proc/self/maps", "r");

	it_assert(f, "/proc/self/maps: %s", strerror(errno));
	while (fgets(line, (int)line_len, f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < hi && lo < e) {
			fclose(f);
			return 1;
		}
	fclose(f);
	return 0;
}

void it_fill_gaps_above(const void *from)
{
	unsigned long s, e, prev = (unsigned long)from, gaps[256][2];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned n = 0, i;

	it_assert(f, "/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) && n < 256) {
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || e <= prev)
			continue;
		if (strstr(line, "[stack]"))
			break;
		if (s > prev) {
			gaps[n][0] = prev;
			gaps[n++][1] = s;
		}
		prev = e;
	}
	fclose(f);
	/* mapped after reading: the file is read with no mapping changing */
	for (i = 0; i < n; i++) {
		void *p = mmap((void *)gaps[i][0], gaps[i][1] - gaps[i][0],
			       PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				       MAP_FIXED_NOREPLACE,
			       -1, 0);

		it_assert(p == (void *)gaps[i][0], "cannot fill the gap at %#lx: %s",
			  gaps[i][0], p == MAP_FAILED ? strerror(errno) : "elsewhere");
	}
}

uint8_t *it_leave_hole(size_t len)
{
	uint8_t *hole = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	it_assert(hole != MAP_FAILED, "mmap %zu: %s", len, strerror(errno));
	it_fill_gaps_above(hole + len);
	munmap(hole, len);
	return hole;
}

void it_take_back_hole(uint8_t *hole, size_t len, uint64_t seed, const char *who)
{
	char line[512];
	uint8_t *p;

	it_assert(!it_mapped_in(hole, len, line, sizeof(line)),
		  "%s: something was mapped in the program's hole: %s", who, line);
	p = mmap(hole, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	it_assert(p == hole, "%s: the hole could not be mapped again: %s", who,
		  p == MAP_FAILED ? strerror(errno) : "placed elsewhere");
	madvise(p, len, MADV_HUGEPAGE);
	it_fill(p, len, seed);
	it_evict_all();
	it_assert(it_check(p, len, seed) < 0, "%s: wrong bytes in the hole", who);
	munmap(p, len);
}

long it_huge_kb(const void *p, size_t len)
{
	return smaps_sum(p, len, "AnonHugePages");
}

uint64_t it_text_word(size_t w)
{
	static const char words[][8] = { "memory  ", "limit   ", "cgroup  ",
					  "the     ", "job     ", "kernel  " };
	uint64_t v;

	memcpy(&v, words[(w / 5) % 6], 8);
	return w % 16 ? v : (uint64_t)w;
}

unsigned it_agent_threads(pid_t pid, void (*fn)(const char *tid, void *arg),
			  void *arg)
{
	char task[64];
	struct dirent *de;
	unsigned found = 0;
	DIR *d;

	if (pid)
		snprintf(task, sizeof(task), "/proc/%d/task", (int)pid);
	else
		snprintf(task, sizeof(task), "/proc/self/task");
	d = opendir(task);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[sizeof(task) + 256 + 8], comm[32] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", task, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "uzswap-agent", 12)) {
			found++;
			if (fn)
				fn(de->d_name, arg);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static void write_tid(const char *tid, void *tasks)
{
	it_write_file(tasks, tid);
}

unsigned it_agent_threads_into(pid_t pid, const char *group)
{
	char tasks[600];

	snprintf(tasks, sizeof(tasks), "%s/tasks", group);
	return it_agent_threads(pid, write_tid, tasks);
}

/* Has this process a thread named as the agent's (uzswap-agent)? */
static int agent_threads_named(void)
{
	return it_agent_threads(0, NULL, NULL) > 0;
}

void it_task_fds(void (*fn)(const char *path, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *t, *f;
	DIR *td, *fd;

	td = opendir("/proc/self/task");
	it_assert(td, "/proc/self/task");
	while ((t = readdir(td))) {
		if (t->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/fd", t->d_name);
		fd = opendir(path);
		if (!fd)
			continue;
		while ((f = readdir(fd))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/fd/%s",
				 t->d_name, f->d_name);
			fn(path, arg);
		}
		closedir(fd);
	}
	closedir(td);
}

/* The most memory a descriptor at @path that is the arena holds. */
static void arena_held(const char *path, void *arg)
{
	uint64_t *most = arg;
	char link[PATH_MAX];
	struct stat st;
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	if (n <= 0)
		return;
	link[n] = 0;
	if (strstr(link, "memfd:uzswap-arena") && !stat(path, &st) &&
	    (uint64_t)st.st_blocks * 512 > *most)
		*most = (uint64_t)st.st_blocks * 512;
}

uint64_t it_arena_bytes(void)
{
	uint64_t most = 0;

	it_task_fds(arena_held, &most);
	return most;
}

unsigned it_log_count(const char *what, const char *also)
{
	const char *log = getenv("IT_DAEMON_LOG");
	char line[1024];
	unsigned n = 0;
	FILE *f = log ? fopen(log, "r") : NULL;

	it_assert(f, "no daemon log");
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) && (!also || strstr(line, also));
	fclose(f);
	return n;
}

int it_log_has(const char *what, const char *also)
{
	return it_log_count(what, also) > 0;
}

/* The memory cgroups it_memcg_make made, and the process that made
 * them: only it removes them (a job's exit runs the atexit cleanups it
 * inherited, and would kill its siblings). */
#define MEMCG_MADE_MAX 8
static char memcg_made[MEMCG_MADE_MAX][256];
static unsigned memcg_made_n;
static pid_t memcg_owner;

/* @a then @b into @out (@len bytes), with no stdio: from a signal
 * handler too. */
static void path_join(char *out, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= len)
		la = lb = 0;
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	out[la + lb] = 0;
}

void it_memcg_make(const char *cg, uint64_t limit)
{
	char path[300], v[32];

	it_assert(!mkdir(cg, 0755), "mkdir %s: %s", cg, strerror(errno));
	if (!memcg_owner)
		memcg_owner = getpid();
	if (memcg_made_n < MEMCG_MADE_MAX)
		path_join(memcg_made[memcg_made_n++], sizeof(memcg_made[0]), cg, "");
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)limit);
	it_write_file(path, v);
	/* no kernel swap for the job, whatever swap the machine has on: the
	 * benchmark's zram runs beside these tests in make check, a job at
	 * its limit swapped into it, and the benchmark's swapoff then
	 * failed (ENOMEM), leaving zram on for the zswap runs */
	snprintf(path, sizeof(path), "%s/memory.swappiness", cg);
	it_write_file(path, "0");
}

/* SIGKILL each task listed in @tasks but our own threads, which move to
 * the cgroup whose cgroup.procs is @out (the caller joined it: rmdir
 * would fail while we are in it); 1 when others were there.
 * Async-signal-safe. */
static int kill_tasks(const char *tasks, const char *out)
{
	char buf[4096], own[64];
	int fd = open(tasks, O_RDONLY | O_CLOEXEC), any = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (char *p = buf; n > 0 && p < buf + n;) {
		long tid = 0;
		struct stat sb;
		char num[24], *q = num + sizeof(num) - 1;

		while (p < buf + n && (*p < '0' || *p > '9'))
			p++;
		while (p < buf + n && *p >= '0' && *p <= '9')
			tid = tid * 10 + (*p++ - '0');
		if (!tid)
			break;
		*q = 0;
		for (long t = tid; t; t /= 10)
			*--q = (char)('0' + t % 10);
		path_join(own, sizeof(own), "/proc/self/task/", q);
		if (!stat(own, &sb)) {
			int o = open(out, O_WRONLY | O_CLOEXEC);

			if (o >= 0) {
				if (write(o, q, strlen(q)) < 0) {
					/* then rmdir fails, and says so */
				}
				close(o);
			}
			continue;
		}
		kill((pid_t)tid, SIGKILL);
		any = 1;
	}
	return any;
}

uint64_t it_memcg_read(const char *cg, const char *name)
{
	char path[400];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

int it_memcg_remove(const char *cg)
{
	const struct timespec tenth = { 0, 100000000 };
	char tasks[300], parent[300], out[320], *slash;
	int left;

	if (memcg_owner && getpid() != memcg_owner)
		return 0; /* a job's exit: not its to remove */
	path_join(tasks, sizeof(tasks), cg, "/tasks");
	path_join(parent, sizeof(parent), cg, "");
	slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	path_join(out, sizeof(out), parent, "/cgroup.procs");
	for (int i = 0; i < 50; i++) {
		left = kill_tasks(tasks, out);
		if (left < 0)
			return errno == ENOENT ? 0 : -1;
		if (!left)
			break;
		nanosleep(&tenth, NULL);
	}
	return rmdir(cg) && errno != ENOENT ? -1 : 0;
}

/* No exit(): atexit's cleanups call stdio and malloc, whose locks the
 * interrupted code may hold (review probe pC_timeout hung 12 of 20).
 * What is left in the cgroups the test made is killed, those removed
 * (the latest first: children before parents), and that is all. */
static void timed_out(int sig)
{
	static const char msg[] = "FAIL: the test timed out (it_timeout or "
				  "it_watchdog); its memory cgroups go too\n";

	if (sig == SIGTERM && getpid() != watched) {
		/* a child forked with the handler: SIGTERM as usual */
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		return;
	}
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do about it */
	}
	for (unsigned i = memcg_made_n; i-- > 0;)
		it_memcg_remove(memcg_made[i]);
	_exit(1);
}

void it_timeout(unsigned seconds)
{
	signal(SIGALRM, timed_out);
	alarm(seconds);
}

void it_cgroup_join(const char *cg)
{
	char pid[32], path[300];

	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	it_write_file(path, pid);
	usleep(1500000); /* the daemon looks at a client once an interval */
	/* our agent's threads up (a forked child starts them after a word
	 * with its parent's, late on a busy machine): a job whose agent
	 * cannot take memory yet is not what is tested */
	for (int i = 0; i < 100 && !agent_threads_named(); i++)
		usleep(100000);
}

void it_memcg_run(const char *cg, void (*job)(void))
{
	pid_t pid = fork();
	int st;

	it_assert(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		it_cgroup_join(cg);
		job();
		fflush(stdout);
		_exit(0);
	}
	it_assert(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	it_assert(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL),
		  "the job was killed (the OOM killer)");
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st), "the job failed (status "
		  "%#x)", st);
}

double it_cgroup_job(const char *cg, size_t fill, unsigned pause_us)
{
	const size_t chunk = 8 * IT_MB;
	uint64_t *m;
	double t0;

	it_cgroup_join(cg);
	m = it_alloc(fill, 1);
	for (size_t w = 0; w < fill / 8; w++) {
		m[w] = it_text_word(w);
		if (pause_us && w % (chunk / 8) == chunk / 8 - 1)
			usleep(pause_us);
	}
	t0 = it_now_s();
	for (size_t w = 0; w < fill / 8; w++) {
		it_assert(m[w] == it_text_word(w), "wrong byte in word %zu (%zu MB in)",
			  w, w * 8 >> 20);
		if (w % (chunk / 8) == chunk / 8 - 1)
			munmap(m + w + 1 - chunk / 8, chunk);
	}
	return it_now_s() - t0;
}

void it_fill(void *p, size_t len, uint64_t seed)
{
	t_fill_pattern(p, len, seed);
}

long it_check(const void *p, size_t len, uint64_t seed)
{
	return t_check_pattern(p, len, seed);
}

int it_pressure_own(char *line, size_t len)
{
	char out[1 << 14], want[32], *at;

	it_assert(!it_ctl(out, sizeof(out), "stats -r -n -o pid,pressure"),
		  "uzswapctl stats");
	snprintf(want, sizeof(want), "%d ", getpid());
	at = strstr(out, want);
	if (!at) {
		snprintf(line, len, "no line for %d in: %s", getpid(), out);
		return 0;
	}
	at[strcspn(at, "\n")] = 0;
	snprintf(line, len, "%s", at);
	return !strstr(at, "(m)");
}

void it_exec_rereader(const char *file, unsigned mb)
{
	char cmd[1024];

	/* dd and cat, as a shell would: stall measured at about 15 % of
	 * the time here, where a loop of read()s of 64 KB stalled far
	 * less and a PSI trigger came late or not at all.
	 *
	 * Thrashing page cache in so small a cgroup, the kernel at times
	 * reclaims nothing and calls its OOM killer (it killed the shell in
	 * three CI runs, and the stall was gone): a dd or cat is always its
	 * choice before the shell (raising a score needs no privilege), and
	 * one killed is run again.  None of them is a
	 * client: they are the load, not what is tested. */
	snprintf(cmd, sizeof(cmd),
		 "n=0; until (echo 1000 >/proc/self/oom_score_adj && exec dd "
		 "if=/dev/urandom of=%s bs=1M count=%u status=none); do "
		 "n=$((n + 1)); [ $n -lt 5 ] || exit 4; done; "
		 "while :; do (echo 1000 >/proc/self/oom_score_adj && exec cat %s) "
		 ">/dev/null; done", file, mb, file);
	unsetenv("LD_PRELOAD");
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(3);
}

void it_need_auto_loop(void)
{
#ifdef __SANITIZE_THREAD__
	/* the loop walks the whole address space and takes ThreadSanitizer's
	 * own allocations (sync objects, mapped anywhere as the program
	 * runs), which the instrumented agent then faults on and waits for
	 * itself (MetaMap::GetSync in handle_userfault); a build without
	 * TSan has no such memory.  (decorate_proc_maps would hide them,
	 * and TSan's heap with them.) */
	printf("SKIP: under ThreadSanitizer the automatic loop takes TSan's own "
	       "memory, which the instrumented agent reads\n");
	exit(77);
#endif
}

void it_reload(const char *config)
{
	const char *conf = getenv("IT_CONFIG"), *d = getenv("IT_DAEMON_PID");

	it_assert(conf && d && atoi(d) > 0, "no IT_CONFIG or IT_DAEMON_PID");
	it_write_file(conf, config);
	it_assert(!kill(atoi(d), SIGHUP), "SIGHUP the daemon: %s", strerror(errno));
}
