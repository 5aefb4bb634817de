/* SPDX-License-Identifier: MIT */
/* uzswapctl run: exec a program with the uzswap agent preloaded. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#ifndef UZ_AGENT_PATH
#define UZ_AGENT_PATH "/usr/local/lib/libuzswap.so"
#endif

#define UZ_EXIT_CANNOT_EXEC 126 /* as env(1) and the shells */
#define UZ_EXIT_NOT_FOUND 127

static void help(void)
{
	printf("Usage: uzswapctl run [--] PROGRAM [ARGS...]\n\n"
	       "Run PROGRAM with the uzswap agent in LD_PRELOAD (before what "
	       "is there),\n"
	       "so that uzswapd may manage its memory.  The agent is "
	       "$UZSWAP_AGENT, else\n%s.\n", UZ_AGENT_PATH);
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *agent = getenv("UZSWAP_AGENT"), *old;
	char *preload;
	int ch;

	/* '+': the program's options are its own */
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (ch != 'h')
			ctl_bad_option("run", ch, argv);
		help();
		return 0;
	}
	if (optind >= argc)
		ctl_usage_error("run: which PROGRAM?");
	if (!agent || !*agent)
		agent = UZ_AGENT_PATH;
	if (access(agent, R_OK))
		ctl_die("agent %s: %s (set UZSWAP_AGENT?)", agent,
			strerror(errno));
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", agent, old) < 0)
			ctl_die("out of memory");
	} else {
		preload = (char *)agent;
	}
	if (setenv("LD_PRELOAD", preload, 1) ||
	    (ctl_socket && setenv(UZ_SOCKET_ENV, ctl_socket, 1)))
		ctl_die("setenv: %s", strerror(errno));
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "uzswapctl: cannot run '%s': %s\n", argv[optind],
		strerror(errno));
	return errno == ENOENT ? UZ_EXIT_NOT_FOUND : UZ_EXIT_CANNOT_EXEC;
}
