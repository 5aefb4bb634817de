/* SPDX-License-Identifier: MIT */
/* uzswapctl: global options, the subcommand table, and the daemon link. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

const char *ctl_socket;

static int cmd_help(int argc, char **argv);

static const struct ctl_entry ctl_table[] = {
	{ "status", "[--json]", "show the daemon, its codec and totals",
	  cmd_status },
	{ "stats", "[--json] [-o COLS] [--raw] [-n] [-b] [--cgroups] [--watch [SECONDS]]",
	  "show one line per client, or per cgroup", cmd_stats },
	{ "top", "[-d SECONDS] [-n COUNT]",
	  "show the clients live, what is taken and comes back per second",
	  cmd_top },
	{ "evict", "PID --all | --bytes SIZE [--timeout SECONDS]",
	  "take memory away from a client now", cmd_evict },
	{ "restore", "PID [--timeout SECONDS]",
	  "bring all of a client's memory back (before gdb -p, gcore)",
	  cmd_restore },
	{ "run", "[--] PROGRAM [ARGS...]",
	  "run PROGRAM with the uzswap agent preloaded", cmd_run },
	{ "help", "", "show this help", cmd_help },
};

#define CTL_NCMDS (sizeof(ctl_table) / sizeof(ctl_table[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: uzswapctl [--socket PATH] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %-6s %s\n         %s\n", ctl_table[i].name,
			ctl_table[i].args, ctl_table[i].help);
	fprintf(f, "\nOptions:\n"
		   "  -s, --socket PATH  uzswapd's socket (default: $%s, "
		   "else %s)\n"
		   "  -h, --help         show this help\n"
		   "  -V, --version      show the version\n"
		   "\n'uzswapctl COMMAND --help' describes a command; see "
		   "uzswapctl(8).\n", UZ_SOCKET_ENV, UZ_SOCKET_DEFAULT);
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static __attribute__((noreturn)) void ctl_vmsg(int status, const char *fmt,
					       va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "uzswapctl: %s\n", line);
	if (status == UZ_EXIT_USAGE)
		fprintf(stderr, "Try 'uzswapctl help'.\n");
	exit(status);
}

void ctl_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vmsg(UZ_EXIT_FAIL, fmt, ap);
	va_end(ap);
}

void ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vmsg(UZ_EXIT_USAGE, fmt, ap);
	va_end(ap);
}

void ctl_bad_option(const char *cmd, int ch, char **argv)
{
	char name[3] = { '-', (char)optopt, 0 };
	const char *opt = optopt ? name : argv[optind - 1];

	if (ch == ':')
		ctl_usage_error("%s: option '%s' needs an argument", cmd, opt);
	ctl_usage_error("%s: unknown option '%s'", cmd, opt);
}

double ctl_parse_seconds(const char *what, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v > 0) || v > 1e6)
		ctl_die("invalid %s '%s': expected a number of seconds", what, s);
	return v;
}

const char *ctl_socket_path(void)
{
	return ctl_socket ? ctl_socket : msg_socket_path();
}

int ctl_connect(void)
{
	const char *path = ctl_socket_path();
	int fd = msg_connect(path);

	if (fd < 0)
		ctl_die("cannot reach uzswapd at %s: %s%s", path, strerror(-fd),
			fd == -ECONNREFUSED || fd == -ENOENT ?
				" (is it running?)" : "");
	return fd;
}

void ctl_send(int fd, unsigned type, uint64_t seq, const void *payload,
	      uint32_t len)
{
	int err = msg_send(fd, type, seq, payload, len, -1);

	if (err)
		ctl_die("cannot send to uzswapd: %s", strerror(-err));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int ctl_recv(int fd, struct uz_msg *m, uint64_t seq, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms, left;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const char *cause = NULL;
	int err, fd_in, n;

	for (;;) {
		left = deadline - mono_ms();
		n = poll(&p, 1, timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ETIMEDOUT;
		fd_in = -1;
		err = msg_recv(fd, m, &fd_in, &cause);
		if (fd_in >= 0)
			close(fd_in);
		if (err == -ECONNRESET)
			ctl_die("uzswapd closed the connection");
		if (err == -EPROTO)
			ctl_die("cannot talk to uzswapd: %s",
				cause ? cause : "malformed reply");
		if (err == -EAGAIN || err == -EINTR)
			continue;
		if (err)
			ctl_die("cannot read from uzswapd: %s", strerror(-err));
		if (m->hdr.type == UZ_MSG_ERROR) {
			m->u.error.msg[sizeof(m->u.error.msg) - 1] = 0;
			ctl_die("%s", m->u.error.msg[0] ? m->u.error.msg :
				strerror(-m->u.error.err));
		}
		if (m->hdr.seq == seq)
			return 0;
	}
}

static const struct ctl_entry *ctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (!strcmp(ctl_table[i].name, name))
			return &ctl_table[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_entry *e;
	int ch;

	opterr = 0;
	/* '+': stop at the command; its options are its own */
	while ((ch = getopt_long(argc, argv, "+:s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("uzswapctl %s (protocol %d)\n", PACKAGE_VERSION,
			       UZ_PROTOCOL_VERSION);
			return 0;
		default:
			ctl_bad_option("uzswapctl", ch, argv);
		}
	}
	if (optind >= argc)
		ctl_usage_error("no command given");
	e = ctl_find(argv[optind]);
	if (!e)
		ctl_usage_error("unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* full re-initialisation for the command's getopt */
	return e->exec(argc, argv);
}
