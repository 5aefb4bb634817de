/* SPDX-License-Identifier: MIT */
/* Integration tests: a real uzswapd and this process under the agent. */
#ifndef UZ_ITEST_H
#define UZ_ITEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#define IT_MB (1ul << 20)
#define IT_BLOCK (2ul << 20)

/*
 * Call first.  The first time through it checks the kernel features the
 * tests need (skipping with a reason when one is missing), starts
 * uzswapd on a private socket, runs this program again under
 * libuzswap.so, stops the daemon and exits with the run's status.  In
 * that second run it returns, with the agent connected.
 */
void it_setup(int argc, char **argv);
/* The same, the daemon started with the configuration @text (its
 * restarts too). */
void it_setup_config(int argc, char **argv, const char *text);
/* The automatic loop on with ordinary steps far too small to keep up
 * (1 % a second, never backing off): only the look at a cgroup's limit
 * takes anything. */
#define IT_CONFIG_LIMIT_STEPS \
	"[daemon]\n"          \
	"auto=on\n"           \
	"auto-interval=1000\n" \
	"auto-step=1\n"       \
	"auto-pressure=100\n" \
	"auto-refaults=100\n"
/* Skip (77), before it_setup, unless root with the cgroup v1 memory
 * controller at IT_MEMCG_V1, where a test makes its own cgroups and
 * counts their charge (so not under a sanitizer). */
#define IT_MEMCG_V1 "/sys/fs/cgroup/memory"
void it_need_memcg_v1(void);
/* A seccomp filter on this process, for good (as a sandbox's): the
 * system calls @nrs (@n of them, at most 8) fail with EPERM. */
void it_refuse_syscalls(const int *nrs, unsigned n);
/* Make the v1 memory cgroup IT_MEMCG_V1/uzswap-it-PID/@unit (a [unit]
 * section of uzswapd.conf matches its name) and move this process into
 * it.  it_setup removes uzswap-it-PID if we die; at exit both go, this
 * process moved out first.  The path of uzswap-it-PID into *@top (may
 * be NULL); returns the unit's. */
const char *it_unit_cgroup(const char *unit, const char **top);
/* A process that kills this one (SIGKILL) if it still runs @seconds
 * from now, saying "FAIL: hung for N s @what": a hung thread may have
 * every signal blocked, its alarm() no use.  Dies with us. */
void it_watchdog(int seconds, const char *what);
/* Say on stderr what each thread of process @pid and of its children,
 * theirs in turn, is doing: state, wait channel and system call (for a
 * report of a hang; @depth: 0). */
void it_report_tree(int pid, unsigned depth);
/* Skip (77), before it_setup, in a ThreadSanitizer build: the automatic
 * loop would take TSan's own memory. */
void it_need_auto_loop(void);
/* Write @config to the running daemon's configuration file and make it
 * read it again (SIGHUP). */
void it_reload(const char *config);
/* Write @v to file @path (a cgroup's, a sysctl's), or fail the test. */
void it_write_file(const char *path, const char *v);

/* Run this test again as `argv[0] MODE` in a child, before it_setup: a
 * run of its own (its own daemon, environment, seccomp filter); fail
 * when that run fails (a skip, 77, is not a failure). */
void it_run_mode(char **argv, const char *mode);

/* Kill uzswapd (SIGKILL) / start a new one on the same socket (a child
 * of this process; its pid is returned). */
void it_daemon_kill(void);
pid_t it_daemon_restart(void);

/* 2 MB-aligned anonymous memory; @huge asks for THPs (MADV_HUGEPAGE). */
void *it_alloc(size_t len, int huge);

/* uzswapctl with printf-style arguments; returns its exit status, its
 * standard output in @out (may be NULL). */
int it_ctl(char *out, size_t out_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Evict all of this process (fails the test if uzswapctl fails). */
void it_evict_all(void);

/* One number from `uzswapctl stats --json` for this process. */
uint64_t it_stat(const char *key);
/* Seconds on the monotonic clock. */
double it_now_s(void);
/* Process @pid's AUTO column of uzswapctl stats into @buf. */
void it_auto_state(pid_t pid, char *buf, size_t len);
/* Wait up to @secs for this process's AUTO to be @want (the last seen in
 * @state); 1 if it came, 0 if not. */
int it_wait_auto_state(const char *want, char *state, size_t len, double secs);

/* Call @fn with the /proc path of each descriptor entry ("." and ".."
 * too) in the table of each of this process's threads (the agent's
 * threads have their own). */
void it_task_fds(void (*fn)(const char *path, void *arg), void *arg);
/* Bytes of memory the agent's arena (a memfd in the descriptor table
 * of the agent's threads) holds now; 0 when none was found. */
uint64_t it_arena_bytes(void);

/* kB of Rss / AnonHugePages over the VMAs that overlap the range. */
long it_rss_kb(const void *p, size_t len);
/* The share of the pages of [@p, @p + @len) that are resident (mincore),
 * 0 to 1. */
double it_resident_share(const void *p, size_t len);
/* A daemon configuration whose automatic loop takes memory every
 * 200 ms onto the inactive list and leaves it there (min-age 600 s),
 * whatever the machine's pressure and the test's refaults. */
extern const char it_config_inactive[];
/* The first mapping of this process inside [p, p + len), as its
 * /proc/self/maps line in @line; 0 when there is none. */
int it_mapped_in(const void *p, size_t len, char *line, size_t line_len);
/* Map PROT_NONE over every free range above @from up to the stack (its
 * guard gap left), so that the kernel places any new mapping below
 * @from, in the highest free range there that fits. */
void it_fill_gaps_above(const void *from);
/* A hole of @len bytes the program leaves, every free range above it
 * filled: the next mapping made without an address lands in it. */
uint8_t *it_leave_hole(size_t len);
/* The hole is still free (else fail, naming @who): mapped again there
 * (MAP_FIXED_NOREPLACE), filled from @seed, evicted, read back, unmapped. */
void it_take_back_hole(uint8_t *hole, size_t len, uint64_t seed, const char *who);
long it_huge_kb(const void *p, size_t len);

/* Fail with file:line and a message. */
#define it_fail(...)                                                      \
	do {                                                              \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
		fprintf(stderr, __VA_ARGS__);                             \
		fprintf(stderr, "\n");                                    \
		exit(1);                                                  \
	} while (0)
#define it_assert(cond, ...)                                              \
	do {                                                              \
		if (!(cond))                                              \
			it_fail(__VA_ARGS__);                             \
	} while (0)

/* Fill / check deterministic mixed data (zero, same-filled,
 * compressible, incompressible pages).  Check returns the first bad
 * offset or -1. */
void it_fill(void *p, size_t len, uint64_t seed);
/* Word @w of a text-like job's memory (repeated words, every 16th a
 * counter): about 3x smaller compressed, as most programs' data is;
 * it_fill's mix has incompressible pages, whose stored copies alone
 * would not fit in a memory cgroup's limit. */
uint64_t it_text_word(size_t w);
/* Has the daemon logged a line with @what in it (and @also, unless
 * NULL)?  Fails the test when there is no log. */
int it_log_has(const char *what, const char *also);
/* How many lines of the daemon's log have @what (and @also if given). */
unsigned it_log_count(const char *what, const char *also);
/* The number in file @name of cgroup directory @cg (memory.usage_in_bytes,
 * say); 0 when it cannot be read. */
uint64_t it_memcg_read(const char *cg, const char *name);
/* Make memory cgroup @cg (its directory) with a limit of @limit bytes
 * and no kernel swap (swappiness 0), or fail the test. */
void it_memcg_make(const char *cg, uint64_t limit);
/* Remove memory cgroup @cg, SIGKILLing what is left in it first (a job
 * of a failed test, even one the OOM killer cannot see) but the calling
 * process, which moves to the parent cgroup; 0 (or gone
 * already, or not ours: called in another process than the one that
 * made the test's cgroups), else -1 with errno.  Async-signal-safe. */
int it_memcg_remove(const char *cg);
/* Fail after @seconds: what is left in the cgroups it_memcg_make made is
 * killed and they are removed, then _exit(1) (no atexit cleanups: they
 * may take locks the interrupted code holds). */
void it_timeout(unsigned seconds);
/* Call @fn with the id of each of process @pid's threads (0: this
 * process's) named as the agent's (uzswap-agent); how many there are. */
unsigned it_agent_threads(pid_t pid, void (*fn)(const char *tid, void *arg),
			  void *arg);
/* Those threads of @pid (0: ours) into cgroup @group (its tasks file);
 * how many. */
unsigned it_agent_threads_into(pid_t pid, const char *group);
/* Join memory cgroup @cg (its directory), then wait for the daemon to
 * look at us and for our agent's threads. */
void it_cgroup_join(const char *cg);
/* A job in memory cgroup @cg (its directory): join it, wait for the
 * daemon to look at us, fill @fill bytes of text words in 8 MB chunks
 * with a pause of @pause_us after each (0: as fast as it can), then
 * check it a chunk at a time, each let go of once checked: the agent
 * restores without looking at the limit, and a read of all of it at
 * once (700 MB/s here) crosses the last 15 % in about 25 ms, a race
 * with the daemon's eviction that a job lost in 3 of 17 runs
 * (DESIGN.md §16).  The seconds the check took. */
double it_cgroup_job(const char *cg, size_t fill, unsigned pause_us);
/* Run @job in a child process in memory cgroup @cg (it_cgroup_join
 * first); fail the test when the child was killed (the OOM killer) or
 * did not exit 0.  @job ends with _exit or returns (exit 0). */
void it_memcg_run(const char *cg, void (*job)(void));
long it_check(const void *p, size_t len, uint64_t seed);
/* Become a shell, not a client, that writes @mb MB of random bytes to
 * @file, then reads it again and again until killed (in a small memory
 * cgroup: its reclaim stalls); a dd or cat the OOM killer takes is run
 * again, the shell it spares; never returns (exit 4: dd failed 5 times). */
void it_exec_rereader(const char *file, unsigned mb)
	__attribute__((noreturn));
/* Is this process judged by its own cgroup's pressure (its PRESSURE in
 * uzswapctl stats not marked "(m)", the machine's)?  Its stats line (or
 * what was found instead) into @line. */
int it_pressure_own(char *line, size_t len);

#endif
