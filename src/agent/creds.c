/* SPDX-License-Identifier: MIT */
/*
 * Credential changes that Linux makes per thread (capset, and prctl's
 * capability options), made by the application on one of its threads,
 * are done again on each agent thread before the call returns.
 *
 * Why: glibc's setuid() family runs the change on every thread of the
 * process and aborts the process when the threads disagree.  setpriv,
 * su, runuser and daemons that drop privileges keep capabilities across
 * a uid change with PR_SET_KEEPCAPS and capset() on their own thread,
 * then call setresgid(); an agent thread that missed those steps has no
 * CAP_SETGID left, fails where the caller succeeds, and glibc aborts.
 * The agent's threads must never make a program behave otherwise.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "loop.h"
#include "stage.h"
#include "worker.h"

#define UZ_EXPORT __attribute__((visibility("default")))
#define ACK_TIMEOUT_NS 2000000000ull

static struct {
	long nr, arg[4];
	struct {
		uint32_t version;
		int pid;
	} hdr;
	uint32_t data[6]; /* up to _LINUX_CAPABILITY_U32S_3 structs of 3 */
	unsigned gen;	  /* bumped for each change to catch up with */
	unsigned acks;	  /* agent threads done with this one */
} change;
static unsigned n_threads; /* agent threads that catch up */
/* the change their credentials were copied after: a thread started
 * late catches up with what came since (doing one again is harmless) */
static unsigned base_gen;
static int lock_word;
static __thread unsigned seen_gen;

void creds_thread_start(void)
{
	seen_gen = __atomic_load_n(&base_gen, __ATOMIC_ACQUIRE);
}

void creds_reset(unsigned threads)
{
	lock_word = 0;
	__atomic_store_n(&base_gen, change.gen, __ATOMIC_RELEASE);
	__atomic_store_n(&n_threads, threads, __ATOMIC_RELEASE);
}

void creds_catch_up(void)
{
	unsigned gen = __atomic_load_n(&change.gen, __ATOMIC_ACQUIRE);

	if (gen == seen_gen)
		return;
	if (change.nr == SYS_capset)
		syscall(SYS_capset, &change.hdr, change.data);
	else
		syscall(SYS_prctl, change.arg[0], change.arg[1], change.arg[2],
			change.arg[3], 0);
	seen_gen = gen;
	__atomic_add_fetch(&change.acks, 1, __ATOMIC_RELEASE);
}

static void wake_agent_threads(void)
{
	loop_wake();
	worker_wake();
	stage_wake();
}

/* Have every agent thread make the change in @change, and wait for
 * them (they never wait for the application, so this is short). */
static void mirror(void)
{
	uint64_t t0 = now_ns();
	unsigned want = __atomic_load_n(&n_threads, __ATOMIC_ACQUIRE);
	struct timespec pause = { 0, 20000 };

	__atomic_store_n(&change.acks, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&change.gen, 1, __ATOMIC_ACQ_REL);
	wake_agent_threads();
	while (__atomic_load_n(&change.acks, __ATOMIC_ACQUIRE) < want) {
		if (now_ns() - t0 > ACK_TIMEOUT_NS) {
			log_limited(UZ_LOG_ERR, 3, 60, "credential change not "
				    "made on %u agent thread(s) in time",
				    want - __atomic_load_n(&change.acks,
							   __ATOMIC_RELAXED));
			return;
		}
		nanosleep(&pause, NULL);
	}
}

static int mirrored(void)
{
	/* a vfork child shares our memory but not our threads */
	return uz_agent.active && __atomic_load_n(&n_threads, __ATOMIC_ACQUIRE) &&
	       !loop_is_agent_thread() && getpid() == uz_agent.pid;
}

static void lock(void)
{
	while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE)) {
		struct timespec pause = { 0, 10000 };

		nanosleep(&pause, NULL);
	}
}

static void unlock(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

UZ_EXPORT int capset(void *hdrp, const void *datap)
{
	long r = syscall(SYS_capset, hdrp, datap);

	if (r == 0 && mirrored()) {
		lock();
		change.nr = SYS_capset;
		memcpy(&change.hdr, hdrp, sizeof(change.hdr));
		/* each thread sets its own: pid 0 means "me" */
		change.hdr.pid = 0;
		/* v1 has one struct of three words, v2 and v3 two */
		memcpy(change.data, datap,
		       (change.hdr.version == _LINUX_CAPABILITY_VERSION_1 ? 3 : 6) * 4);
		mirror();
		unlock();
	}
	return (int)r;
}

/* The options that change the calling thread's credentials only. */
static int per_thread_cred_option(int option, unsigned long arg2)
{
	switch (option) {
	case PR_SET_KEEPCAPS:
	case PR_SET_SECUREBITS:
	case PR_CAPBSET_DROP:
		return 1;
	case PR_CAP_AMBIENT:
		return arg2 != PR_CAP_AMBIENT_IS_SET;
	default:
		return 0;
	}
}

UZ_EXPORT int prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;
	long r;
	int i;

	va_start(ap, option);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	r = syscall(SYS_prctl, option, a[0], a[1], a[2], a[3]);
	if (r >= 0 && per_thread_cred_option(option, a[0]) && mirrored()) {
		lock();
		change.nr = SYS_prctl;
		change.arg[0] = option;
		change.arg[1] = (long)a[0];
		change.arg[2] = (long)a[1];
		change.arg[3] = (long)a[2];
		mirror();
		unlock();
	}
	return (int)r;
}
