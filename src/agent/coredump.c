/* SPDX-License-Identifier: MIT */
/*
 * Core dumps with the right bytes.  The kernel writes zeros for evicted
 * memory (it takes no userfault while dumping), so before a signal whose
 * default action dumps core does so, everything evicted is brought back.
 * Each such signal still at SIG_DFL when the agent starts gets a one-shot
 * handler (SA_RESETHAND): it asks the agent thread to restore all, waits
 * a bounded time, and sends the signal again with its original siginfo,
 * so that the default action (the core) follows as the handler returns.
 * The application does not see the handler: sigaction() and signal()
 * report SIG_DFL for it, installing its own replaces it, and setting
 * SIG_DFL again (old = signal(s, h); ... signal(s, old)) puts ours back.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocks.h"
#include "coredump.h"
#include "log.h"
#include "loop.h"

#define UZ_EXPORT __attribute__((visibility("default")))
/* ThreadSanitizer's runtime installs its handlers through these (found
 * with dlsym(RTLD_NEXT)) while it starts, before an instrumented function
 * may run: not instrumented, and nothing of ours before the agent starts */
#define UZ_NO_TSAN __attribute__((no_sanitize("thread")))
/* a dump of many GB takes a while to restore; a stuck agent must not
 * keep a dying process from dying */
#define RESTORE_WAIT_MS 30000

static const int core_signals[] = {
	SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV,
	SIGXCPU, SIGXFSZ, SIGSYS,
};

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef void (*handler_fn)(int);
typedef handler_fn (*signal_fn)(int, handler_fn);
static sigaction_fn real_sigaction;
static signal_fn real_signal;
static int wanted, done; /* a dying thread's request, the agent's answer */

UZ_NO_TSAN static void resolve(void)
{
	if (!real_sigaction)
		real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	if (!real_signal)
		real_signal = (signal_fn)dlsym(RTLD_NEXT, "signal");
}

/* Will the kernel write a core for us?  Only async-signal-safe calls. */
static int core_wanted(void)
{
	struct rlimit rl;
	char c = 0;
	int fd;

	if (syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) <= 0)
		return 0;
	fd = open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	if (getrlimit(RLIMIT_CORE, &rl))
		return 1;
	/* a pipe ignores the limit, except 1 (a crashing dump helper) */
	if (c == '|')
		return rl.rlim_cur != 1;
	return rl.rlim_cur >= (rlim_t)sysconf(_SC_PAGESIZE);
}

static void restore_before_dump(void)
{
	struct timespec ms = { 0, 1000000 };
	int waited;

	if (!agent_here() || loop_is_agent_thread() ||
	    !__atomic_load_n(&uz_agent.evicted_once, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&wanted, 1, __ATOMIC_SEQ_CST);
	loop_wake();
	for (waited = 0; waited < RESTORE_WAIT_MS &&
			 !__atomic_load_n(&done, __ATOMIC_SEQ_CST); waited++)
		nanosleep(&ms, NULL);
}

static void on_core_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (core_wanted())
		restore_before_dump();
	/* again, as it came: blocked until we return, then the default
	 * action (SA_RESETHAND put it back) dumps core with this siginfo;
	 * a fault that re-executed would give the same, a sent signal
	 * would not come again by itself */
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, si))
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	errno = saved;
}

static int is_core_signal(int sig)
{
	unsigned i;

	for (i = 0; i < sizeof(core_signals) / sizeof(core_signals[0]); i++)
		if (core_signals[i] == sig)
			return 1;
	return 0;
}

static void ours(struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_sigaction = on_core_signal;
	sa->sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa->sa_mask);
}

/* SIG_DFL asked for a core signal while the agent runs: ours instead. */
static int wants_default(int sig, const struct sigaction *act)
{
	return act && agent_here() && is_core_signal(sig) &&
	       !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

void coredump_init(void)
{
	struct sigaction sa, old;
	unsigned i;

	resolve();
	if (!real_sigaction)
		return;
	ours(&sa);
	for (i = 0; i < sizeof(core_signals) / sizeof(core_signals[0]); i++)
		if (!real_sigaction(core_signals[i], NULL, &old) &&
		    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			real_sigaction(core_signals[i], &sa, NULL);
}

int coredump_pending(void)
{
	return __atomic_load_n(&wanted, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&done, __ATOMIC_SEQ_CST);
}

void coredump_serve(void)
{
	if (!coredump_pending())
		return;
	restore_everything();
	__atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
}

/* What the application asks of its signals: ours reads as SIG_DFL. */
UZ_NO_TSAN UZ_EXPORT int sigaction(int sig, const struct sigaction *act,
				  struct sigaction *old)
{
	struct sigaction mine;
	int ret;

	resolve();
	if (!real_sigaction) {
		errno = ENOSYS;
		return -1;
	}
	if (!uz_agent.pid) /* before the agent started: none of ours yet */
		return real_sigaction(sig, act, old);
	if (wants_default(sig, act)) {
		ours(&mine);
		act = &mine;
	}
	ret = real_sigaction(sig, act, old);
	if (!ret && old && (old->sa_flags & SA_SIGINFO) &&
	    old->sa_sigaction == on_core_signal) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	return ret;
}

UZ_NO_TSAN UZ_EXPORT handler_fn signal(int sig, handler_fn handler)
{
	handler_fn old;

	resolve();
	if (!real_signal) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	if (!uz_agent.pid)
		return real_signal(sig, handler);
	if (handler == SIG_DFL && agent_here() && is_core_signal(sig)) {
		struct sigaction sa = { .sa_handler = SIG_DFL }, prev;

		/* through the interposer above: ours goes in */
		if (sigaction(sig, &sa, &prev))
			return SIG_ERR;
		return prev.sa_flags & SA_SIGINFO ?
			(handler_fn)(void (*)(void))prev.sa_sigaction : prev.sa_handler;
	}
	old = real_signal(sig, handler);
	return old == (handler_fn)(void (*)(void))on_core_signal ? SIG_DFL : old;
}
