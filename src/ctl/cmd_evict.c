/* SPDX-License-Identifier: MIT */
/* uzswapctl evict and restore: take memory from a client now, or give
 * it all back, and say how it went. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "size.h"

static void help(void)
{
	printf("Usage: uzswapctl evict PID --all | --bytes SIZE "
	       "[--timeout SECONDS]\n\n"
	       "Ask the agent in process PID to evict memory now, and wait "
	       "until it has.\n\n"
	       "  -a, --all              every block that can be taken\n"
	       "  -B, --bytes SIZE       this much (4096, 64K, 1.5G), "
	       "rounded up to 2M blocks\n"
	       "  -t, --timeout SECONDS  give up waiting after SECONDS\n");
}

/* " (comm)" of @pid, or "" when /proc does not say. */
static void pid_comm(unsigned pid, char *buf, size_t len)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
	snprintf(buf, len, " (%s)", comm);
}

static unsigned parse_pid(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || !v || v > INT_MAX)
		ctl_die("invalid pid '%s'", s);
	return v;
}

static uint64_t parse_size(const char *s)
{
	uint64_t v;

	if (strchr(s, '%'))
		ctl_die("invalid size '%s': give bytes, not a percentage", s);
	if (size_parse(s, 0, &v))
		ctl_die("invalid size '%s': expected e.g. 4096, 64K, 1.5G", s);
	if (!v)
		ctl_die("invalid size '%s': nothing to evict", s);
	return v;
}

static void print_done(const struct uz_evict_done *d, unsigned pid,
		       const char *comm, int restore)
{
	char bytes[32], stored[32], ratio[32];

	if (restore) {
		printf("restored %s to %u%s in %u blocks in %.2f s\n",
		       size_format(d->bytes, bytes, sizeof(bytes)), pid, comm,
		       d->blocks, d->usec / 1e6);
		return;
	}

	if (d->stored)
		snprintf(ratio, sizeof(ratio), "%.2f",
			 (double)d->bytes / d->stored);
	else
		snprintf(ratio, sizeof(ratio), "-");
	printf("evicted %s from %u%s in %u blocks -> %s stored (ratio %s) "
	       "in %.2f s; %u skipped, %u busy\n",
	       size_format(d->bytes, bytes, sizeof(bytes)), pid, comm,
	       d->blocks, size_format(d->stored, stored, sizeof(stored)),
	       ratio, d->usec / 1e6, d->skipped, d->busy);
}

static void show_progress(const struct uz_evict_progress *p, unsigned pid,
			  const char *comm)
{
	char done[32], target[32];

	size_format(p->done_bytes, done, sizeof(done));
	if (p->target_bytes)
		fprintf(stderr, "\r\033[Kevicting from %u%s: %s of %s", pid,
			comm, done,
			size_format(p->target_bytes, target, sizeof(target)));
	else
		fprintf(stderr, "\r\033[Kevicting from %u%s: %s", pid, comm,
			done);
}

/* Wait for UZ_MSG_EVICT_DONE, showing progress; returns the exit status. */
static int wait_done(int fd, unsigned pid, double timeout, int restore)
{
	const char *what = restore ? "restore to" : "eviction from";
	int tty = isatty(STDERR_FILENO), shown = 0;
	char comm[40];
	struct uz_msg m;

	pid_comm(pid, comm, sizeof(comm));
	for (;;) {
		/* the daemon enforces its own evict-timeout too */
		if (ctl_recv(fd, &m, 1, timeout > 0 ? (int)(timeout * 1000) : -1)) {
			if (shown)
				fputs("\r\033[K", stderr);
			ctl_die("timed out after %g s waiting for the %s %u",
				timeout, what, pid);
		}
		if (m.hdr.type == UZ_MSG_EVICT_PROGRESS) {
			if (tty) {
				show_progress(&m.u.progress, pid, comm);
				shown = 1;
			}
			continue;
		}
		if (shown)
			fputs("\r\033[K", stderr);
		if (m.hdr.type != UZ_MSG_EVICT_DONE)
			ctl_die("unexpected reply (type %u) from uzswapd",
				m.hdr.type);
		print_done(&m.u.done, pid, comm, restore);
		if (m.u.done.err)
			ctl_die("%s %u stopped: %s", what, pid,
				strerror(m.u.done.err < 0 ? -m.u.done.err :
							    m.u.done.err));
		return 0;
	}
}

int cmd_evict(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "bytes", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uz_ctl_evict req = { 0 };
	const char *bytes = NULL;
	double timeout = 0;
	int ch, fd;

	while ((ch = getopt_long(argc, argv, ":aB:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			req.flags |= UZ_EVICT_ALL;
			break;
		case 'B':
			bytes = optarg;
			break;
		case 't':
			timeout = ctl_parse_seconds("timeout", optarg);
			break;
		case 'h':
			help();
			return 0;
		default:
			ctl_bad_option("evict", ch, argv);
		}
	}
	if (optind == argc)
		ctl_usage_error("evict: which PID?");
	if (optind < argc - 1)
		ctl_usage_error("evict: unexpected argument '%s'",
				argv[optind + 1]);
	if (!!bytes == !!(req.flags & UZ_EVICT_ALL))
		ctl_usage_error("evict: give either --all or --bytes SIZE");
	req.pid = parse_pid(argv[optind]);
	if (bytes)
		req.bytes = parse_size(bytes);

	fd = ctl_connect();
	ctl_send(fd, UZ_MSG_CTL_EVICT, 1, &req, sizeof(req));
	return wait_done(fd, req.pid, timeout, 0);
}

static void restore_help(void)
{
	printf("Usage: uzswapctl restore PID [--timeout SECONDS]\n\n"
	       "Bring everything the agent in process PID has evicted back "
	       "into its memory,\nand wait until it has: a debugger attached "
	       "with ptrace (gdb -p, gcore) or\na reader of /proc/PID/mem "
	       "cannot read evicted memory.\n\n"
	       "  -t, --timeout SECONDS  give up waiting after SECONDS\n");
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uz_ctl_evict req = { .flags = UZ_EVICT_RESTORE };
	double timeout = 0;
	int ch, fd;

	while ((ch = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			timeout = ctl_parse_seconds("timeout", optarg);
			break;
		case 'h':
			restore_help();
			return 0;
		default:
			ctl_bad_option("restore", ch, argv);
		}
	}
	if (optind == argc)
		ctl_usage_error("restore: which PID?");
	if (optind < argc - 1)
		ctl_usage_error("restore: unexpected argument '%s'",
				argv[optind + 1]);
	req.pid = parse_pid(argv[optind]);
	fd = ctl_connect();
	ctl_send(fd, UZ_MSG_CTL_EVICT, 1, &req, sizeof(req));
	return wait_done(fd, req.pid, timeout, 1);
}
