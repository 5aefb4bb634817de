/* SPDX-License-Identifier: MIT */
/*
 * A daemon on built-in defaults (an empty configuration file, as on a
 * fresh machine) takes cold memory by itself: nobody runs uzswapctl evict.
 *  - memory nobody touches leaves the mapping (most of 32 MB within 120 s:
 *    a step of 5 % every 2 s);
 *  - what stayed away for min-age (5 s) is compressed (INACT-AGED);
 *  - uzswapctl stats says the loop is on for this client (AUTO not off);
 *  - every byte reads back right;
 *  - under a debugger (a child that ptrace-seizes it) it is left alone
 *    (AUTO traced): what gdb reads must stay in the mapping; once the
 *    debugger is gone the loop takes again;
 *  - after uzswapctl restore it is left alone (AUTO restored) for its
 *    auto-guard.
 * The last two after a reload that turns the back-offs off (pressure,
 * refaults), so that only the left-alone rule decides.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define COLD (32 * IT_MB)
#define MORE (16 * IT_MB)
#define SEED 111
/* long enough for back-offs: the defaults back off while the machine's
 * memory pressure is over 10 %, which other tests beside this one raise */
#define WAIT_S 120
#define MOSTLY 0.5

/* A child that traces this process (PTRACE_SEIZE: no stop) until killed. */
static pid_t tracer(void)
{
	pid_t parent = getpid(), pid;
	int go[2];
	char c = 0;

	it_assert(!pipe(go), "pipe: %s", strerror(errno));
	/* Yama's ptrace_scope 1 lets only an ancestor trace, unless asked */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	pid = fork();
	it_assert(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		int st;

		c = ptrace(PTRACE_SEIZE, parent, 0, 0) ? 'n' : 'y';
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		/* as a debugger does: every signal the tracee gets stops it
		 * until the tracer lets it go on with that signal */
		while (waitpid(parent, &st, __WALL) == parent)
			if (WIFSTOPPED(st))
				ptrace(PTRACE_CONT, parent, 0,
				       WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
		_exit(0);
	}
	it_assert(read(go[0], &c, 1) == 1 && c == 'y', "the child could not "
		  "ptrace this process");
	close(go[0]);
	close(go[1]);
	return pid;
}

int main(int argc, char **argv)
{
	char state[32] = "", state2[32] = "";
	double t0, share = 1;
	uint8_t *cold;
	long bad;

	it_need_auto_loop();
	/* empty: every setting at its built-in default */
	it_setup_config(argc, argv, "");
	alarm(4 * WAIT_S + 60);

	cold = it_alloc(COLD, 1);
	it_fill(cold, COLD, SEED);

	/* 1: untouched memory goes, with no command */
	for (t0 = it_now_s(); it_now_s() - t0 < WAIT_S; usleep(250000)) {
		share = it_resident_share(cold, COLD);
		if (share <= MOSTLY)
			break;
	}
	it_auto_state(getpid(), state, sizeof(state));
	it_assert(share <= MOSTLY, "on built-in defaults, after %d s %.0f%% of "
		  "32 MB nobody touches is still resident (AUTO %s)", WAIT_S,
		  share * 100, state);
	printf("on built-in defaults: %.0f%% of the untouched 32 MB resident "
	       "after %.1f s, AUTO %s\n", share * 100, it_now_s() - t0, state);
	it_assert(strcmp(state, "off"), "uzswapctl stats says the loop is off");

	/* 2: after min-age, what was taken is compressed */
	for (t0 = it_now_s(); it_now_s() - t0 < WAIT_S; usleep(250000))
		if (it_stat("inactive_stored") > 0)
			break;
	it_assert(it_stat("inactive_stored") > 0, "after %d s more, nothing "
		  "taken was compressed (min-age 5 s)", WAIT_S);
	printf("compressed after min-age: %llu blocks, %llu bytes evicted\n",
	       (unsigned long long)it_stat("inactive_stored"),
	       (unsigned long long)it_stat("evicted_bytes"));

	/* 3: every byte back */
	bad = it_check(cold, COLD, SEED);
	it_assert(bad < 0, "reading back: a wrong byte at offset %ld", bad);
	printf("every byte of the 32 MB read back right\n");

	/* 4: traced, it is left alone (its 32 MB are all back: a step would
	 * take some), for five intervals and more. From here on the loop
	 * does not back off for the machine's pressure nor for refaults
	 * (reading it all back was one): what is judged is only whether a
	 * step leaves it alone */
	it_reload("[daemon]\nauto-pressure=100\nauto-refaults=100\n");
	{
		pid_t t = tracer();
		int traced = it_wait_auto_state("traced", state, sizeof(state),
						WAIT_S);

		if (traced)
			sleep(10);
		share = it_resident_share(cold, COLD);
		it_auto_state(getpid(), state2, sizeof(state2));
		kill(t, SIGKILL);
		waitpid(t, NULL, 0);
		it_assert(traced, "under a debugger for %d s, AUTO is '%s', "
			  "not 'traced'", WAIT_S, state);
		/* (a back-off for pressure may come meanwhile: nothing is
		 * taken then either) */
		it_assert(share == 1 && strcmp(state2, "taking"), "under a "
			  "debugger for 10 s: AUTO %s, %.1f%% of the 32 MB "
			  "resident", state2, share * 100);
		printf("under a debugger: AUTO traced, all of the 32 MB still "
		       "resident 10 s on\n");
	}
	/* the debugger gone, the loop decides again (nothing to take: all
	 * of it was read back within auto-guard) */
	for (t0 = it_now_s(); it_now_s() - t0 < 10; usleep(100000)) {
		it_auto_state(getpid(), state, sizeof(state));
		if (strcmp(state, "traced"))
			break;
	}
	it_assert(strcmp(state, "traced"), "10 s after the debugger went, "
		  "AUTO is still 'traced'");
	printf("the debugger gone: AUTO %s\n", state);

	/* 5: restored by hand, it is left alone for auto-guard (60 s): 16 MB
	 * more, never touched since, stay (the 32 MB are guarded anyway);
	 * the loop may first pause ten intervals after finding nothing */
	{
		char out[4096];
		uint8_t *more = it_alloc(MORE, 1);

		it_fill(more, MORE, SEED + 1);
		it_assert(!it_ctl(out, sizeof(out), "restore %d", (int)getpid()),
			  "uzswapctl restore: %s", out);
		it_assert(it_wait_auto_state("restored", state, sizeof(state), 45),
			  "45 s after uzswapctl restore, AUTO is '%s', not "
			  "'restored'", state);
		sleep(10);
		share = it_resident_share(more, MORE);
		it_auto_state(getpid(), state2, sizeof(state2));
		it_assert(share == 1 && strcmp(state2, "taking"), "10 s into "
			  "'restored': AUTO %s, %.1f%% of 16 MB nobody touched "
			  "resident", state2, share * 100);
		printf("after uzswapctl restore: AUTO restored, 16 MB nobody "
		       "touches all resident 10 s on\n");
	}
	return 0;
}
